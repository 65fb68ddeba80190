@mysql @activity
Feature: Health, reflection and metrics of the activity server
  Probes use the standard gRPC health service with its real status; tools discover the API by
  server reflection; Prometheus scrapes the admin port.

  Background:
    Given the activity server is running on a fresh database

  Scenario: Health answers SERVING for the server and for the service
    Then the health of "" is SERVING
    And the health of "activityevents.ActivityEvents" is SERVING

  Scenario: Server reflection lists the activity service
    Then server reflection lists "activityevents.ActivityEvents"

  Scenario: The admin port serves readiness and the event metrics
    When I create event 1 for deployment 1 with message "counted"
    And I send a GET request to "/readyz"
    Then the response status is 200
    When I send a GET request to "/metrics"
    Then the response status is 200
    And the response body contains "activity_events_created_total"
