@redis @chaos @events @network
Feature: The Redis link cut under the producer and the consumers, then healed
  The producer and the consumers reach Redis through fault proxies of the scenario's own; cutting
  them is a partition (open connections cut, new ones refused) while Redis itself runs on. The
  producer refuses at once what it cannot store (503 with `Retry-After`, well within its 1 s write
  timeout) and reports not ready; once the links heal it is ready again by itself, and every event
  it accepted, before and after the cut, is processed exactly once. The ledger (accepted,
  processed, duplicates, lost) and the detection and recovery times are printed. The second
  scenario cuts the links for a second in the middle of a steady flow of events: what the
  producer answered 200 for is processed exactly once, whatever was in flight when the links
  went.

  Scenario: Redis link cut under the producer and the consumers, then healed
    Given the producer and the consumers reach Redis through a fault proxy
    And an event producer on a fresh stream
    And a consumer "c1" on that stream
    And a consumer "c2" on that stream
    When 200 events flow through the producer
    And the links to Redis are cut
    And I post the event "during the cut"
    Then the response status is 503
    And the response has a header "Retry-After"
    And the response came within 1000 ms
    And the producer reports not ready
    When the links heal
    Then GET "/readyz" answers 200 again within 10 s
    When 200 events flow through the producer
    Then every accepted event is processed exactly once

  Scenario: Redis link cut under the producer and the consumers while events flow, then healed
    Given the producer and the consumers reach Redis through a fault proxy
    And an event producer on a fresh stream
    And a consumer "c1" on that stream
    And a consumer "c2" on that stream
    When 2000 events flow through the producer at 500 a second while the links to Redis are cut for 1000 ms
    Then every accepted event is processed exactly once
