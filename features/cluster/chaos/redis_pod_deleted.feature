@cluster @chaos @events
Feature: The Redis pod deleted while events flow loses nothing acknowledged
  Redis runs with append-only persistence, fsync on every write, on a hostPath: whatever it
  acknowledged survives its pod being deleted and recreated. While it is gone the producer
  refuses events (they are not counted as accepted); the producer and the consumer reconnect
  by themselves, and every event the producer accepted, before and after, is processed exactly
  once. The recovery time (deletion to the new pod Ready) is printed.

  Scenario: 2,000 events, the Redis pod deleted mid-flow
    Given the event pipeline on the cluster
    When 2000 events flow through the producer while the redis pod is deleted
    Then the event pipeline is Ready
    When 100 events flow through the producer
    Then every accepted event is processed exactly once
    And the redis workload is Ready again within 120 seconds
    And the recovery times are printed
