@accountd @mysql @network @chaos
Feature: accountd when its link to MySQL is slow or reset
  accountd reaches MySQL through a fault proxy of the scenario's own. Its store calls are bounded
  by the request timeout (`limits.request_timeout`, 10 s by default, 1 s here): with MySQL slower
  than that, a request is answered 503 with `Retry-After` and a JSON error within the timeout
  (+1 s), never a hang; with every connection to MySQL reset (RST) as soon as it carries data, a
  request gets the same 503 at once. Once the link heals accountd answers quickly again by
  itself, without a restart. The recovery time is printed.

  Background:
    Given accountd reaches MySQL through a fault proxy
    And accountd's requests time out after 1000 ms
    And accountd is running on a fresh database with the seed's test data

  Scenario: MySQL slow under accountd: 503 with Retry-After within the timeout, fast again once healed
    When the link from accountd to MySQL gets 2000 ms of latency
    And I send a GET request to "/users"
    Then the response status is 503
    And the response has a header "Retry-After"
    And the response is a JSON error
    And the response came within 2000 ms
    When the link heals
    Then GET "/users" answers 200 again within 5 s
    When I send a GET request to "/users"
    Then the response status is 200
    And the response came within 500 ms

  Scenario: MySQL connections reset under accountd: a quick 503, then recovery by itself
    When I send a GET request to "/users"
    Then the response status is 200
    When the connection to MySQL is reset
    And I send a GET request to "/users"
    Then the response status is 503
    And the response has a header "Retry-After"
    And the response is a JSON error
    And the response came within 2000 ms
    When the link heals
    Then GET "/users" answers 200 again within 5 s
