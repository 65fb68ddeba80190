@mysql @accountd
Feature: Bulk create and update with the Bulk-Request header
  A bulk request carries {"users":[...]} and answers one result per user, in request order. The
  overall status is 201 (POST) or 200 (PUT) when every user succeeded, 409 when any failed; the
  HTTP status equals it. Failed items keep the original's per-item status and error text.

  Background:
    Given accountd is running on a fresh database with the seed's test data

  Scenario: Bulk create of two users answers 201 with both results in order
    When I send a POST request to "/users" with header "Bulk-Request: true" and body:
      """
      {"users":[
        {"accountid":1,"name":"Brian Wilson","email":"goodvibrations@gmail.com","role":1,"password":"helpmerhonda"},
        {"accountid":1,"name":"Frank Zappa","email":"donteatyellowsnow@gmail.com","role":1,"password":"searsponcho"}
      ]}
      """
    Then the response status is 201
    And the response header "Content-Type" is "application/json"
    And the response has no header "Location"
    And the bulk results have statuses "201, 201"
    And bulk result 1 is the user with id 6 named "Brian Wilson"
    And bulk result 2 is the user with id 7 named "Frank Zappa"
    And no "password" field appears in the response

  Scenario: Bulk create with one duplicate e-mail answers 409 with per-item results in request order
    When I send a POST request to "/users" with header "Bulk-Request: true" and body:
      """
      {"users":[
        {"accountid":1,"name":"Brian Wilson","email":"goodvibrations@gmail.com","role":1,"password":"helpmerhonda"},
        {"accountid":1,"name":"Mickey Again","email":"mickeyd@gmail.com","role":1,"password":"pw"},
        {"accountid":1,"name":"Frank Zappa","email":"donteatyellowsnow@gmail.com","role":1,"password":"searsponcho"}
      ]}
      """
    Then the response status is 409
    And the response JSON at "/overallstatus" is 409
    And the bulk results have statuses "201, 400, 201"
    And bulk result 2 has errmsg "attempt to insert duplicate user"
    And bulk result 1 is the user with id 6 named "Brian Wilson"
    And bulk result 3 is the user named "Frank Zappa"
    When I list the users
    Then the list has 7 users

  Scenario: Bulk create with an invalid user reports that item only
    When I send a POST request to "/users" with header "Bulk-Request: true" and body:
      """
      {"users":[
        {"accountid":1,"name":"","email":"noname@example.com","role":1,"password":"pw"},
        {"accountid":1,"name":"Valid","email":"valid@example.com","role":1,"password":"pw"}
      ]}
      """
    Then the response status is 409
    And the bulk results have statuses "400, 201"
    And bulk result 1 has an errmsg containing "DB insert or update failed"

  Scenario: Bulk update of existing and missing users
    When I send a PUT request to "/users" with header "Bulk-Request: true" and body:
      """
      {"users":[
        {"accountid":1,"id":1,"name":"Solo Mickey","email":"mickeyd@gmail.com","role":1,"password":"pw"},
        {"accountid":1,"id":99,"name":"Ghost","email":"ghost@example.com","role":1,"password":"pw"}
      ]}
      """
    Then the response status is 409
    And the bulk results have statuses "200, 404"
    And bulk result 2 has errmsg "attempted update on a non-existent user"
    When I send a GET request to "/users/1"
    Then the response JSON at "/name" is "Solo Mickey"

  Scenario: Bulk update of every user answers 200
    When I send a PUT request to "/users/" with header "Bulk-Request: true" and body:
      """
      {"users":[{"accountid":1,"id":4,"name":"Solo Mike","email":"joanne@gmail.com","role":2,"password":"pw"}]}
      """
    Then the response status is 200
    And the response JSON at "/overallstatus" is 200
    And the bulk results have statuses "200"

  Scenario: An empty bulk request succeeds with no results
    When I send a POST request to "/users" with header "Bulk-Request: true" and body:
      """
      {"users":[]}
      """
    Then the response status is 201
    And the response JSON at "/overallstatus" is 201

  Scenario: A bulk body without the header is a decoding error
    When I send a POST request to "/users" with header "Some-Random-Header: SomeValue" and body:
      """
      {"users":[{"accountid":1,"name":"Brian Wilson","email":"goodvibrations@gmail.com","role":1,"password":"helpmerhonda"}]}
      """
    Then the response status is 400
    And the response is a JSON error whose message contains "JSON Decoding Error, possibly malformed JSON object"

  Scenario: A single user under the bulk header is a decoding error
    When I send a POST request to "/users" with header "Bulk-Request: true" and body:
      """
      {"accountid":1,"name":"Brian Wilson","email":"goodvibrations@gmail.com","role":1,"password":"helpmerhonda"}
      """
    Then the response status is 400
    And the response is a JSON error whose message contains "JSON Decoding Error, possibly malformed JSON object"

  Scenario: A Bulk-Request header that is neither true nor false is rejected
    When I send a POST request to "/users" with header "Bulk-Request: ShouldBeTrueOrFalse" and body:
      """
      {"users":[]}
      """
    Then the response status is 400
    And the response is a JSON error whose message contains "Expected 'true' or 'false' value for 'Bulk-Request' header, got ShouldBeTrueOrFalse"
