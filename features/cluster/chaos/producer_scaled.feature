@cluster @chaos @events
Feature: The event-producer scaled to 0 and back carries on where it stopped
  With no producer pod nothing can be posted; scaled back, the new pod reports ready and
  accepts events again. Every event accepted before and after is processed exactly once. The
  recovery time (scale-up to Ready and /readyz answering 200) is printed.

  @matrix @service-event-producer @fault-sigterm
  Scenario: Events before and after the producer is scaled to 0 and back are each processed once
    Given the event pipeline on the cluster
    When 200 events flow through the producer
    And the event-producer deployment is scaled to 0 and back
    And 200 events flow through the producer
    Then every accepted event is processed exactly once
    And the event-producer workload is Ready again within 90 seconds
    And the recovery times are printed
