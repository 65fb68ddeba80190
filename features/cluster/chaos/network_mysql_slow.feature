@cluster @chaos @network @accountd @serial
Feature: accountd on the cluster when its link to MySQL is slow
  The deployed accountd (and activity-server) reach MySQL through the release's fault proxy
  (its `mysql` proxy). Slowed down by 1.5 s, the link's latency shows in accountd's answers (a
  read is two round trips: the pool's check of the connection, then the query). Slowed down by
  12 s, an answer still never waits for MySQL: the pool's acquire timeout (5 s, within the 10 s
  request timeout of this deployment) answers 503 with `Retry-After` and a JSON error, never a
  hang. Once the link heals accountd answers quickly again by itself, without a restart; a user
  it acknowledged before is still there and a new one is created. The recovery time (heal to
  the first 200) is printed.

  @matrix @service-accountd @fault-store-slow
  Scenario: MySQL slow under accountd: the latency carried, then bounded, then fast again once healed
    Given the accountd service on the cluster
    And the deployed services reach their stores through the cluster's fault proxy
    When I send a POST request to the accountd service at "/users" with body:
      """
      {"accountid":1,"name":"Before The Latency","email":"{run}-before@example.com","role":1,"password":"pw"}
      """
    Then the response status is 201
    And I remember the id in the Location header as "before"
    When the link from accountd to MySQL gets 1500 ms of latency
    And I send a GET request to the accountd service at "/users/{before}"
    Then the response status is 200
    And the response took at least 1500 ms
    And the response came within 11000 ms
    When the link from accountd to MySQL gets 12000 ms of latency
    And I send a GET request to the accountd service at "/users/{before}"
    Then the response status is 503
    And the response has a header "Retry-After"
    And the response is a JSON error
    And the response came within 6000 ms
    When the link heals
    Then GET "/users/{before}" answers 200 again within 10 s
    When I send a GET request to the accountd service at "/users/{before}"
    Then the response status is 200
    And the response came within 500 ms
    And the text at "/email" in the response JSON reads "{run}-before@example.com"
    When I send a POST request to the accountd service at "/users" with body:
      """
      {"accountid":1,"name":"After The Latency","email":"{run}-after@example.com","role":1,"password":"pw"}
      """
    Then the response status is 201
    And I remember the id in the Location header as "after"
    And the recovery times are printed
