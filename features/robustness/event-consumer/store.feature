@events @redis @network @chaos
Feature: event-consumer when its link to Redis is slow, cut, half-open or reset
  Two consumers reach Redis through a fault proxy of the scenario's own while events flow in
  through a producer whose own link stays healthy. The consumers have no request API: what
  their callers see is their readiness and the ledger. With the link cut or passing no data a
  consumer reports not ready within 2 s; slower than its Redis timeout, within that timeout
  + 1 s. Once the link heals it is ready again by itself, and every event the producer accepted,
  before, during and after the fault, is processed exactly once: none lost, none twice. Each
  scenario is a cell of the fault matrix, with the ledger.

  Background:
    Given event-consumer runs with its store behind a fault proxy

  @matrix @service-event-consumer @fault-store-slow
  Scenario: Redis slower than the consumers' timeout: not ready in time, processing again once healed
    When 100 events flow through the producer
    And event-consumer's store gets slower than its store timeout
    Then event-consumer reports not ready within its store timeout + 1 s
    When 100 events flow through the producer
    And the link heals
    Then event-consumer is ready again within 2 s of the heal
    And the ledger balances: every accepted event is processed exactly once

  @matrix @service-event-consumer @fault-store-cut
  Scenario: The consumers' link to Redis cut while events flow: not ready, then back by itself
    When 100 events flow through the producer
    And event-consumer's store link is cut
    Then event-consumer reports not ready within 2 s
    When 100 events flow through the producer
    And the link heals
    Then event-consumer is ready again within 5 s of the heal
    And the ledger balances: every accepted event is processed exactly once

  @matrix @service-event-consumer @fault-store-half-open
  Scenario: Redis stops passing data to the consumers: not ready, then back by itself
    When 100 events flow through the producer
    And event-consumer's store stops passing data
    Then event-consumer reports not ready within 2 s
    When 100 events flow through the producer
    And the link heals
    Then event-consumer is ready again within 5 s of the heal
    And the ledger balances: every accepted event is processed exactly once

  @matrix @service-event-consumer @fault-store-reset
  Scenario: The consumers' Redis connections reset while events flow: none lost, none twice
    When 100 events flow through the producer
    And event-consumer's store connections are reset
    Then event-consumer reports not ready within 2 s
    When 100 events flow through the producer
    And the link heals
    Then event-consumer is ready again within 2 s of the heal
    And the ledger balances: every accepted event is processed exactly once
