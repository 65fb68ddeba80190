@cluster @chaos @events
Feature: The event-consumer's containers killed while events flow loses nothing and repeats nothing
  The consumer's container is SIGKILLed through the Docker engine the kubelet drives (a crash,
  no graceful shutdown) a quarter of the way through 2,000 events; the kubelet restarts it in
  the same pod. A kill can land between applying a batch and acknowledging it: those entries
  must be applied once, not twice. The recovery time (kill to the restarted container Ready and
  /readyz answering 200) is printed.

  @matrix @service-event-consumer @fault-sigkill
  Scenario: 2,000 events, the consumer container SIGKILLed mid-flow
    Given the event pipeline on the cluster
    When 2000 events flow through the producer while the event-consumer containers are killed
    Then every accepted event is processed exactly once
    And the event-consumer workload is Ready again within 120 seconds
    And the recovery times are printed
