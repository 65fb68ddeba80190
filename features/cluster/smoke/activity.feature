@cluster @activity
Feature: activity-server answers on the cluster
  The deployed activity-server keeps its gRPC contract on its host port: an event is created,
  sent again without being stored twice, and streamed back by ListEvents. Ids and deployment are
  random and the scenario's own (the database outlives scenarios, and gRPC has no delete). Its
  gRPC health and its admin port's readiness and metrics answer.

  Background:
    Given the activity-server service on the cluster

  Scenario: Create an event, send it again, and stream it back
    When I create a fresh event for a fresh deployment with message "hello from {run}"
    Then the fresh event is accepted
    When I send the same event again
    Then the fresh event is accepted
    When I list the events of the fresh deployment
    Then the fresh event is streamed back once with message "hello from {run}"

  Scenario: gRPC health, readiness and metrics answer
    Then the health of "" is SERVING
    And the health of "activityevents.ActivityEvents" is SERVING
    When I send a GET request to "/readyz"
    Then the response status is 200
    When I send a GET request to "/metrics"
    Then the response status is 200
    And the response body contains "activity_events_created_total"
