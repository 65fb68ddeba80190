@mongo @cinema
Feature: Every cinema service reports liveness and readiness
  /healthz is liveness (200 "ok", always); /healthy is readiness (200 "ok" once MongoDB answers
  a ping and the indexes exist). The platform's /livez and /readyz answer as well.

  Scenario Outline: The <service> service is live and ready
    Given the <service> service on a fresh database
    When I send a GET request to "/healthz"
    Then the response status is 200
    And the response body is exactly:
      """
      ok
      """
    When I send a GET request to "/healthy"
    Then the response status is 200
    And the response body is exactly:
      """
      ok
      """
    When I send a GET request to "/readyz"
    Then the response status is 200
    When I send a GET request to "/livez"
    Then the response status is 200

    Examples:
      | service   |
      | movies    |
      | showtimes |
      | bookings  |
      | users     |
