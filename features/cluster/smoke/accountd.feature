@cluster @accountd
Feature: accountd answers on the cluster
  The deployed accountd pod, on its host port, keeps the users contract: create, read, update
  and delete a user of the scenario's own (its email carries the run label, so runs never
  collide), the seed's health path, readiness and the Prometheus metrics.

  Background:
    Given the accountd service on the cluster

  Scenario: Health, readiness and metrics answer
    When I send a GET request to "/accountdhealth"
    Then the response status is 200
    And the response body is exactly:
      """
      I'm Healthy!
      """
    When I send a GET request to "/readyz"
    Then the response status is 200
    When I send a GET request to "/users/1"
    And I send a GET request to "/metrics"
    Then the response status is 200
    And the response body contains "http_requests_total"
    And the response body contains "mockvideo_database_db_request_duration_seconds"

  Scenario: Create, read, update and delete a user of the scenario's own
    When I send a POST request to the accountd service at "/users" with body:
      """
      {"accountid":1,"name":"Brian Wilson","email":"{run}@example.com","role":1,"password":"helpmerhonda"}
      """
    Then the response status is 201
    And the response body is empty
    And I remember the id in the Location header as "user"
    When I send a GET request to the accountd service at "/users/{user}"
    Then the response status is 200
    And the text at "/email" in the response JSON reads "{run}@example.com"
    And the response JSON at "/name" is "Brian Wilson"
    And no "password" field appears in the response
    When I send a PUT request to the accountd service at "/users/{user}" with body:
      """
      {"accountid":1,"id":{user},"name":"BeachBoy Brian Wilson","email":"{run}@example.com","role":1,"password":"helpmerhonda"}
      """
    Then the response status is 200
    When I send a GET request to the accountd service at "/users/{user}"
    Then the response JSON at "/name" is "BeachBoy Brian Wilson"
    When I send a POST request to the accountd service at "/users" with body:
      """
      {"accountid":1,"name":"Impostor","email":"{run}@example.com","role":1,"password":"pw"}
      """
    Then the response status is 409
    And the response is a JSON error
    When I send a DELETE request to the accountd service at "/users/{user}"
    Then the response status is 200
    When I send a GET request to the accountd service at "/users/{user}"
    Then the response status is 404
    And the response is a JSON error
