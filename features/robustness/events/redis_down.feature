@redis @chaos @events @serial
Feature: While Redis is down the producer refuses events instead of accepting what it cannot store
  With Redis stopped or frozen, every POST /event is answered (no hang) with 503, a Retry-After
  header and a JSON error, and readiness turns false; nothing is answered 200. The first posts
  go out at once after the fault, before the producer's own health check has noticed it, so
  they take the write path (a frozen Redis makes it wait for the producer's write timeout). Once Redis is back
  the producer recovers by itself, and every event it accepted, before and after the outage, is
  processed exactly once. The latency of the refusals is printed, not asserted.

  Scenario Outline: Redis <fault>: 503 while it is down, then recovery without loss
    Given an event producer and a consumer "c1" on a Redis of their own with persistence
    When 200 events flow through the producer
    And Redis is <fault>
    Then 10 events posted while Redis is down are each refused with 503, Retry-After and a JSON error
    And the producer reports not ready
    When Redis is <repair>
    And the producer is ready again
    And 200 events flow through the producer
    Then every accepted event is processed exactly once

    Examples:
      | fault   | repair        |
      | stopped | started again |
      | paused  | unpaused      |
