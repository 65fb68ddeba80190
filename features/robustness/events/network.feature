@redis @chaos @events @network
Feature: The Redis link cut under the producer and the consumers while events flow, then healed
  The producer and the consumers reach Redis through fault proxies of the scenario's own; cutting
  them is a partition (open connections cut, new ones refused) while Redis itself runs on. The
  links are cut for a second in the middle of a steady flow of events: what the producer
  answered 200 for is processed exactly once, whatever was in flight when the links went. The
  ledger and the recovery time are printed. (Each service's link slow, cut, half-open or reset on
  its own is a cell of the fault matrix: features/robustness/event-producer/store.feature and
  features/robustness/event-consumer/store.feature.)

  Scenario: Redis link cut under the producer and the consumers while events flow, then healed
    Given the producer and the consumers reach Redis through a fault proxy
    And an event producer on a fresh stream
    And a consumer "c1" on that stream
    And a consumer "c2" on that stream
    When 2000 events flow through the producer at 500 a second while the links to Redis are cut for 1000 ms
    Then every accepted event is processed exactly once
