@accountd @mysql @retries
Feature: accountd's writes retried with an Idempotency-Key are applied once
  A client whose answer is lost (its connection closes as the answer starts: accountd did the
  work, the client never heard of it) retries with the same Idempotency-Key and gets the
  original answer, marked `Idempotent-Replayed: true`, without accountd executing it again: one
  user stored, one update, one delete. The key is kept with the answer in accountd's MySQL
  (`idempotency_key`). The same key for a different request is a 422; a request without the
  header behaves as before.

  Background:
    Given accountd is running on a fresh database with the seed's test data

  Scenario: A create whose answer was lost, retried with its key, stores one user
    When I send a POST request to "/users" with header "Idempotency-Key: create-once" and body, and its answer is lost:
      """
      {"accountid":1,"name":"Retried Once","email":"retried@example.com","role":1,"password":"pw"}
      """
    And I send a POST request to "/users" with header "Idempotency-Key: create-once" and body:
      """
      {"accountid":1,"name":"Retried Once","email":"retried@example.com","role":1,"password":"pw"}
      """
    Then the response status is 201
    And the response header "Idempotent-Replayed" is "true"
    And the response has a header "Location"
    When I send a GET request to "/users"
    Then the list has 6 users

  Scenario: A bulk create whose answer was lost, retried with its key, stores each user once
    When I send a POST request to "/users" with header "Bulk-Request: true; Idempotency-Key: bulk-once" and body, and its answer is lost:
      """
      {"users":[{"accountid":1,"name":"Bulk One","email":"bulk-one@example.com","role":1,"password":"pw"},
                {"accountid":1,"name":"Bulk Two","email":"bulk-two@example.com","role":1,"password":"pw"}]}
      """
    And I send a POST request to "/users" with header "Bulk-Request: true; Idempotency-Key: bulk-once" and body:
      """
      {"users":[{"accountid":1,"name":"Bulk One","email":"bulk-one@example.com","role":1,"password":"pw"},
                {"accountid":1,"name":"Bulk Two","email":"bulk-two@example.com","role":1,"password":"pw"}]}
      """
    Then the response status is 201
    And the response header "Idempotent-Replayed" is "true"
    And the bulk results have statuses "201,201"
    When I send a GET request to "/users"
    Then the list has 7 users

  Scenario: An update and a delete whose answers were lost, retried, answer as the first time
    When I send a PUT request to "/users/1" with header "Idempotency-Key: update-once" and body, and its answer is lost:
      """
      {"id":1,"accountid":1,"name":"Renamed Once","email":"renamed@example.com","role":1,"password":"pw"}
      """
    And I send a PUT request to "/users/1" with header "Idempotency-Key: update-once" and body:
      """
      {"id":1,"accountid":1,"name":"Renamed Once","email":"renamed@example.com","role":1,"password":"pw"}
      """
    Then the response header "Idempotent-Replayed" is "true"
    When I send a DELETE request to "/users/2" with header "Idempotency-Key: delete-once" and body, and its answer is lost:
      """
      """
    And I send a DELETE request to "/users/2" with header "Idempotency-Key: delete-once" and body:
      """
      """
    Then the response header "Idempotent-Replayed" is "true"
    When I send a GET request to "/users"
    Then the list has 4 users
    And the list has a user with id 1 named "Renamed Once"

  Scenario: The same key for a different request is refused and changes nothing
    When I send a POST request to "/users" with header "Idempotency-Key: one-request" and body:
      """
      {"accountid":1,"name":"First Use","email":"first-use@example.com","role":1,"password":"pw"}
      """
    Then the response status is 201
    When I send a POST request to "/users" with header "Idempotency-Key: one-request" and body:
      """
      {"accountid":1,"name":"Second Use","email":"second-use@example.com","role":1,"password":"pw"}
      """
    Then the response status is 422
    And the response JSON at "/error/code" is "idempotency_key_reused"
    When I send a GET request to "/users"
    Then the list has 6 users
