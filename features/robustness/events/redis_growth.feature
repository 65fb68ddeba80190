@redis @events @serial @slow
Feature: Redis stays bounded however many events flow
  Two consumers of one group, on a Redis of the scenario's own, keep what they must and no
  more: the ids they applied only for the seen window (a sorted set trimmed by every batch,
  expiring as a key when no batch comes), the newest processed records only (the list is trimmed
  to its length; a count key says how many were ever appended), and the stream only from the
  first entry some consumer group has not read or not acknowledged (trimmed every second with
  XTRIM MINID). Exactly-once is checked as in the other features, against the events sent; the
  processed list is read by a follower as it is trimmed, so no record escapes the count. The
  sizes and memory of the keys are read from Redis (XLEN, ZCARD, LLEN, MEMORY USAGE, DBSIZE,
  INFO memory) and printed.

  The 50,000 events are added to the stream straight (pipelined XADD at 2,500 a second, 20 s,
  so the flow outlasts the seen window twice over): through the producer (a debug build, 16
  requests at a time) they took 46 s alone and 84 s beside the other events features, too long
  for one scenario. The producer's path is exercised by the lagging-group scenario and by the
  other events features.

  Background:
    Given consumers that keep a seen window of "8s", at most 10000 processed records and trim the stream every "1s"

  Scenario: 50,000 events through two consumers: each applied once, every key within its bound
    Given a stream on a Redis of its own
    And a consumer "c1" on that stream
    And a consumer "c2" on that stream
    And the processed record is followed as the consumers trim it
    When 50000 events are added straight to the stream at 2500 a second
    Then every accepted event is processed exactly once
    And the stream, the seen window and the processed list stay within their bounds

  Scenario: A consumer group that lags keeps every entry it has not acknowledged
    Given an event producer on a Redis of its own
    And a consumer "c1" on that stream
    And a consumer "l1" of group "laggard" on that stream
    When 1000 events flow through the producer
    And consumer "l1" stops
    And 3000 events flow through the producer
    And a reader of group "laggard" takes 50 entries without acknowledging them
    Then every accepted event is processed exactly once
    And the stream is trimmed to the first entry group "laggard" has not acknowledged
    When a consumer "l1" of group "laggard" starts on that stream
    Then every accepted event is processed exactly once by group "laggard"
