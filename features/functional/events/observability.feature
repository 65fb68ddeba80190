@redis @events
Feature: Metrics and health of the producer and the consumer
  The producer serves /metrics, /livez and /readyz on its HTTP port; the consumer serves them on
  its admin port. Counter names are the ones the dashboards use.

  Background:
    Given an event producer on a fresh stream
    And a consumer "c1" on that stream

  Scenario: Produced and consumed events are counted
    When I post the event "counted"
    Then the event "counted" is processed exactly once
    And the producer's metric "events_produced_total" is at least 1
    And consumer "c1"'s metric "events_consumed_total" is at least 1

  Scenario: Refused requests are counted by reason
    When I post the raw body '{"description":123}'
    Then the response status is 400
    And the producer's metric "events_rejected_total" is at least 1

  Scenario: The producer and the consumer are live and ready while Redis answers
    Then the producer reports ready
    And consumer "c1" reports ready
    When I ask consumer "c1" for "/livez"
    Then the response status is 200
