@events @redis @network @chaos
Feature: event-producer when its link to Redis is slow, cut, half-open or reset
  The producer reaches Redis through a fault proxy of the scenario's own (a consumer reads the
  stream over a healthy link) and bounds every write by 1 s (`write_timeout`). With Redis slower
  than that, or passing no data, an event is refused 503 with `Retry-After` within the timeout
  + 1 s, never a hang; with the link cut, the producer reports not ready within 2 s and refuses
  events at once. An event whose connection is reset is refused cleanly and is in the stream
  whole or not at all. Once the link heals it accepts events again by itself, and every event it
  accepted, before, during and after the fault, is processed exactly once. Each scenario is a
  cell of the fault matrix, with the ledger.

  Background:
    Given event-producer runs with its store behind a fault proxy

  @matrix @service-event-producer @fault-store-slow
  Scenario: Redis slower than the write timeout: 503 with Retry-After in time, fast again once healed
    When 100 events flow through the producer
    And event-producer's store gets slower than its store timeout
    Then event-producer answers 503 with Retry-After within its store timeout + 1 s, never a hang
    When the link heals
    Then event-producer answers fast again within 2 s of the heal
    When 100 events flow through the producer
    Then the ledger balances: every accepted event is processed exactly once

  @matrix @service-event-producer @fault-store-cut
  Scenario: The link to Redis cut: not ready, refused at once, back by itself once healed
    When 100 events flow through the producer
    And event-producer's store link is cut
    Then event-producer reports not ready within 2 s
    And event-producer refuses requests with 503 with Retry-After at once while it lasts
    When the link heals
    Then event-producer answers again within 5 s of the heal
    When 100 events flow through the producer
    Then the ledger balances: every accepted event is processed exactly once

  @matrix @service-event-producer @fault-store-half-open
  Scenario: Redis stops passing data: a bounded 503, not ready, back by itself once healed
    When 100 events flow through the producer
    And event-producer's store stops passing data
    Then event-producer reports not ready within 2 s
    And event-producer answers 503 with Retry-After within its store timeout + 1 s, never a hang
    When the link heals
    Then event-producer answers again within 5 s of the heal
    When 100 events flow through the producer
    Then the ledger balances: every accepted event is processed exactly once

  @matrix @service-event-producer @fault-store-reset
  Scenario: Redis connections reset under an event: a clean 503, nothing half-written
    When 100 events flow through the producer
    And event-producer's store connections are reset
    Then a write to event-producer gets 503 with Retry-After within its store timeout + 1 s
    When the link heals
    Then event-producer answers again within 2 s of the heal
    And the next 5 requests to event-producer succeed
    And the write to event-producer is stored whole or not at all
    When 100 events flow through the producer
    Then the ledger balances: every accepted event is processed exactly once
