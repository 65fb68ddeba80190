@redis @chaos @events
Feature: The producer and the consumer ride out a Redis restart
  Redis runs in a container of the scenario's own with append-only persistence (fsync on every
  write), so whatever it acknowledged survives the restart. The producer and the consumer
  reconnect by themselves; nobody restarts them.

  Scenario: After Redis restarts, a new event is accepted and is the latest notification (Robot: Test redis-master pod deleted unexpectedly)
    Given an event producer and a consumer "c1" on a Redis of their own with persistence
    When Redis is restarted
    And the producer is ready again
    And I post the event "restated_redis_test"
    Then the response status is 200
    And the latest notification in the stream has description "restated_redis_test"
    And the event "restated_redis_test" is processed exactly once

  @serial
  Scenario: Redis restarted while events flow: nothing accepted is lost or processed twice
    Given an event producer and a consumer "c1" on a Redis of their own with persistence
    When 5000 events flow through the producer while Redis is restarted
    Then every accepted event is processed exactly once
    And the producer reports ready
