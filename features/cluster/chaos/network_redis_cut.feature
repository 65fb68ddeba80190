@cluster @chaos @network @events @serial
Feature: The Redis link cut under the deployed producer and consumer, then healed
  The deployed event-producer and event-consumer reach Redis through the release's fault proxy
  (its `redis` proxy); cutting it is a partition (open connections cut, new ones refused) while
  Redis itself runs on. 2,000 events flow through the producer at 500 a second and the link is
  cut for 1.5 s a quarter of the way in: the producer refuses what it cannot store (503, with
  `Retry-After`, checked on one more event posted during a second cut) and is ready again by
  itself once the link heals. Every event it accepted (200), before, during and after the cuts,
  is processed exactly once: the ledger (accepted, processed, duplicates, lost) and the recovery
  times (heal to the producer ready) are printed.

  @matrix @service-event-producer @service-event-consumer @fault-store-cut
  Scenario: Redis link cut under the producer and the consumer while events flow, then healed
    Given the event pipeline on the cluster
    And the deployed services reach their stores through the cluster's fault proxy
    When 2000 events flow through the producer at 500 a second while the links to Redis are cut for 1500 ms
    Then the flow's refused events were all answered 503
    When the links to Redis are cut
    And I post the event "during the cut"
    Then the response status is 503
    And the response has a header "Retry-After"
    And the response came within 2000 ms
    When the links heal
    Then GET "/readyz" answers 200 again within 15 s
    And the event pipeline is Ready
    When 200 events flow through the producer
    Then every accepted event is processed exactly once
    And the recovery times are printed
