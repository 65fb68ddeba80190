@cluster @chaos @events
Feature: The event-consumer pod deleted while events flow loses nothing and repeats nothing
  2,000 events flow through the deployed producer at 200 a second; a quarter of the way in, the
  event-consumer pod is deleted and its Deployment starts a new one. Entries the old pod read
  but had not acknowledged stay pending and are processed by the new one (its own pending list
  or XAUTOCLAIM), exactly once. Counts come from the processed record in Redis, for this
  scenario's events only, checked against what the producer answered 200 for; the recovery time
  (deletion to Ready and /readyz answering 200) is printed.

  @matrix @service-event-consumer @fault-sigterm
  Scenario: 2,000 events, the consumer pod deleted mid-flow
    Given the event pipeline on the cluster
    When 2000 events flow through the producer while the event-consumer pod is deleted
    Then every accepted event is processed exactly once
    And the event-consumer workload is Ready again within 120 seconds
    And the recovery times are printed
