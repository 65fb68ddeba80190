@mysql @accountd
Feature: Users CRUD with the seed's golden bodies
  Success responses are byte for byte the original's: the golden files of its integration tests,
  the Location header on create and empty bodies on create, update and delete. Passwords are
  accepted on writes and never come back.

  Background:
    Given accountd is running on a fresh database with the seed's test data

  Scenario: Listing every user returns the golden body
    When I send a GET request to "/users"
    Then the response status is 200
    And the response header "Content-Type" is "application/json"
    And the response body is exactly:
      """
      {"users":[{"accountid":1,"href":"/users/1","id":1,"name":"mickey dolenz","email":"mickeyd@gmail.com","role":1},{"accountid":1,"href":"/users/2","id":2,"name":"peter tork","email":"petertd@gmail.com","role":3},{"accountid":1,"href":"/users/3","id":3,"name":"davy jones","email":"djonesI@gmail.com","role":3},{"accountid":1,"href":"/users/4","id":4,"name":"michael nesmith","email":"joanne@gmail.com","role":2},{"accountid":2,"href":"/users/5","id":5,"name":"mama cass","email":"mama@gmail.com","role":1}]}
      """

  Scenario: Reading one user returns the golden body, with a trailing slash too
    When I send a GET request to "/users/1"
    Then the response status is 200
    And the response body is exactly:
      """
      {"accountid":1,"href":"/users/1","id":1,"name":"mickey dolenz","email":"mickeyd@gmail.com","role":1}
      """
    When I send a GET request to "/users/1/"
    Then the response status is 200

  Scenario: Create, read, update and delete a user
    When I send a POST request to "/users" with body:
      """
      {"accountid":1,"name":"Brian Wilson","email":"goodvibrations@gmail.com","role":1,"password":"helpmerhonda"}
      """
    Then the response status is 201
    And the response header "Location" is "/users/6"
    And the response body is empty
    When I send a GET request to "/users/6"
    Then the response status is 200
    And the response body is exactly:
      """
      {"accountid":1,"href":"/users/6","id":6,"name":"Brian Wilson","email":"goodvibrations@gmail.com","role":1}
      """
    When I send a PUT request to "/users/6" with body:
      """
      {"accountid":1,"id":6,"name":"BeachBoy Brian Wilson","email":"goodvibrations@gmail.com","role":1,"password":"helpmerhonda"}
      """
    Then the response status is 200
    And the response body is empty
    When I send a GET request to "/users/6"
    Then the response body is exactly:
      """
      {"accountid":1,"href":"/users/6","id":6,"name":"BeachBoy Brian Wilson","email":"goodvibrations@gmail.com","role":1}
      """
    When I send a DELETE request to "/users/6"
    Then the response status is 200
    And the response body is empty
    When I send a GET request to "/users/6"
    Then the response status is 404
    And the response is a JSON error

  Scenario: A second create with the same e-mail is a conflict and stores nothing
    When I send a POST request to "/users" with body:
      """
      {"accountid":1,"name":"Brian Wilson","email":"goodvibrations@gmail.com","role":1,"password":"helpmerhonda"}
      """
    Then the response status is 201
    When I send a POST request to "/users" with body:
      """
      {"accountid":1,"name":"Another Brian","email":"goodvibrations@gmail.com","role":1,"password":"helpmerhonda"}
      """
    Then the response status is 409
    And the response is a JSON error whose message contains "attempt to insert duplicate user"
    When I list the users
    Then the list has 6 users

  Scenario: Field names are matched without regard to case, as the Go decoder did
    When I send a POST request to "/users" with body:
      """
      {"AccountID":1,"Name":"Mixed Case","eMail":"mixed@example.com","Role":2,"Password":"s3cret"}
      """
    Then the response status is 201
    And the response header "Location" is "/users/6"

  Scenario: Passwords never come back
    When I send a POST request to "/users" with body:
      """
      {"accountid":1,"name":"Secretive","email":"secretive@example.com","role":1,"password":"hunter2hunter2"}
      """
    Then the response status is 201
    When I send a GET request to "/users/6"
    Then no "password" field appears in the response
    And the response body does not contain "hunter2hunter2"
    When I send a GET request to "/users"
    Then no "password" field appears in the response

  Scenario: Updating a user that does not exist is not found
    When I send a PUT request to "/users/42" with body:
      """
      {"accountid":1,"id":42,"name":"Nobody","email":"nobody@example.com","role":1,"password":"pw"}
      """
    Then the response status is 404
    And the response is a JSON error whose message contains "attempted update on a non-existent user"

  Scenario: Updating a user to another user's e-mail is a conflict
    When I send a PUT request to "/users/2" with body:
      """
      {"accountid":1,"id":2,"name":"peter tork","email":"mickeyd@gmail.com","role":2,"password":"pw"}
      """
    Then the response status is 409
    And the response is a JSON error whose message contains "attempt to insert duplicate user"

  Scenario: Deleting a user that does not exist still succeeds, as in the original
    When I send a DELETE request to "/users/4242"
    Then the response status is 200
    And the response body is empty
