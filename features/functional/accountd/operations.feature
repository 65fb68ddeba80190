@mysql @accountd
Feature: Health, metrics, request ids and the API description
  Operators probe the seed's health path, scrape Prometheus metrics with the dashboard's names,
  trace requests by id and read the API from /openapi.json.

  Background:
    Given accountd is running on a fresh database with the seed's test data

  Scenario: The seed's health check answers
    When I send a GET request to "/accountdhealth"
    Then the response status is 200
    And the response body is exactly:
      """
      I'm Healthy!
      """

  Scenario: Liveness and readiness answer while the database is up
    When I send a GET request to "/livez"
    Then the response status is 200
    When I send a GET request to "/readyz"
    Then the response status is 200

  Scenario: Metrics carry the request and database series the dashboards query
    When I send a GET request to "/users/1"
    And I send a GET request to "/metrics"
    Then the response status is 200
    And the response body contains "mockvideo_user_user_request_duration_seconds"
    And the response body contains "mockvideo_database_db_request_duration_seconds"
    And the response body contains "http_requests_total"

  Scenario: A request id is generated, and one sent by the caller is kept
    When I send a GET request to "/users/1"
    Then the response has a header "x-request-id"
    When I send a GET request to "/users/1" with header "x-request-id: trace-me-123"
    Then the response header "x-request-id" is "trace-me-123"

  Scenario: The OpenAPI document describes the users routes
    When I send a GET request to "/openapi.json"
    Then the response status is 200
    And the response JSON at "/openapi" starts with "3."
    And the response JSON has a key "/paths/~1users"
    And the response JSON has a key "/paths/~1users~1{id}"
