@cluster @events
Feature: The event pipeline answers on the cluster
  An event posted to the deployed producer is appended to the deployed stream and processed
  exactly once by the deployed consumer group, as its processed record in Redis shows. The
  simulator pod posts too, so only this scenario's own events (described with its run label)
  are counted. The producer and the consumer admin port serve liveness, readiness and metrics.

  Background:
    Given the event pipeline on the cluster

  Scenario: An event posted to the producer is processed once by the consumer
    When I post the event "smoke test"
    Then the response status is 200
    And the response body is empty
    And the event "smoke test" is processed exactly once

  Scenario: A hundred events are each processed exactly once
    When 100 events flow through the producer
    Then every accepted event is processed exactly once

  Scenario: The producer and the consumer are live, ready and counted
    When I send a GET request to the event-producer service at "/readyz"
    Then the response status is 200
    When I send a GET request to the event-producer service at "/livez"
    Then the response status is 200
    When I send a GET request to the event-producer service at "/metrics"
    Then the response body contains "events_produced_total"
    When I send a GET request to the event-consumer service at "/readyz"
    Then the response status is 200
    When I send a GET request to the event-consumer service at "/livez"
    Then the response status is 200
    When I send a GET request to the event-consumer service at "/metrics"
    Then the response body contains "events_consumed_total"
