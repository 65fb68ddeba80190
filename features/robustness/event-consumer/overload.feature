@events @redis @robustness
Feature: event-consumer under a backlog arriving at four times its consumption rate
  A consumer pulls: nobody can be refused a 429, so its overload is a backlog. Its consumption
  rate is measured on a first backlog written straight into its stream; then events arrive at a
  fixed rate of four times that rate for a few seconds. The consumer must stay under its
  chart's memory limit (it reads in bounded batches, whatever waits in the stream), keep
  running, and in the end have processed every event exactly once. The time the backlog took
  to drain after the last event arrived is recorded as the cell's recovery.
  The service runs as deployed: held to its chart's CPU limit (`resources.limits.cpu`, 500m)
  by a cgroup of its own, so its capacity is its own share of the machine and the load
  generator and the stores have the rest.

  @matrix @service-event-consumer @fault-overload @serial
  Scenario: a backlog at four times the consumption rate drains, every event processed once, within the memory limit
    Given event-consumer runs as a process of its own
    And it is held to its chart's CPU limit
    When its consumption rate is measured with a backlog of 10000 events
    And a backlog arrives at four times its consumption rate for 2 seconds
    Then its resident size stayed under its chart's memory limit
    And it still runs and is ready
    And every accepted event is processed exactly once
