@cluster @chaos @accountd
Feature: accountd rides out its MySQL pod being deleted
  MySQL keeps its data on the node (a hostPath), so a user accountd acknowledged before the
  MySQL pod was deleted is still there once the StatefulSet has started a new one. accountd is
  not restarted: its connection pool reconnects by itself, its readiness answers 200 again, and
  it creates users again. The recovery times (MySQL's new pod Ready, then accountd ready) are
  printed.

  Scenario: A user created before the MySQL pod is deleted is read back after it
    Given the accountd service on the cluster
    When I send a POST request to the accountd service at "/users" with body:
      """
      {"accountid":1,"name":"Before The Outage","email":"{run}-before@example.com","role":1,"password":"pw"}
      """
    Then the response status is 201
    And I remember the id in the Location header as "before"
    When the mysql pod is deleted
    Then the mysql workload is Ready again within 120 seconds
    And the accountd service is Ready again within 60 seconds
    When I send a GET request to the accountd service at "/users/{before}"
    Then the response status is 200
    And the text at "/email" in the response JSON reads "{run}-before@example.com"
    When I send a POST request to the accountd service at "/users" with body:
      """
      {"accountid":1,"name":"After The Outage","email":"{run}-after@example.com","role":1,"password":"pw"}
      """
    Then the response status is 201
    And I remember the id in the Location header as "after"
    And the recovery times are printed
