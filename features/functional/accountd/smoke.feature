@mysql @accountd
Feature: The seed's smoke test still passes
  The original smoketest.sh and smoketestStandAlone.sh drove accountd with curl against a database
  loaded with the seed's five test users. Every step they checked is a scenario step here.

  Background:
    Given accountd is running on a fresh database with the seed's test data

  Scenario: The smoke test's success path, step by step
    When I list the users
    Then the list has 5 users
    When I send a POST request to "/users/" with body:
      """
      {"accountid":1,"name":"Brian Wilson","email":"goodvibrations@gmail.com","role":1,"password":"helpmerhonda"}
      """
    Then the response status is 201
    And the response header "Location" is "/users/6"
    When I list the users
    Then the list has 6 users
    And the list has a user with id 6 named "Brian Wilson"
    When I send a PUT request to "/users/6" with body:
      """
      {"accountid":1,"id":6,"name":"BeachBoy Brian Wilson","email":"goodvibrations@gmail.com","role":1,"password":"helpmerhonda"}
      """
    Then the response status is 200
    When I list the users
    Then the list has a user with id 6 named "BeachBoy Brian Wilson"
    When I send a DELETE request to "/users/6"
    Then the response status is 200
    When I list the users
    Then the list has 5 users
    When I send a POST request to "/users/" with header "Bulk-Request: true" and body:
      """
      {"users":[
        {"accountid":1,"name":"Brian Wilson","email":"goodvibrations@gmail.com","role":1,"password":"helpmerhonda"},
        {"accountid":1,"name":"Frank Zappa","email":"donteatyellowsnow@gmail.com","role":1,"password":"searsponcho"}
      ]}
      """
    Then the response status is 201
    And the response JSON at "/overallstatus" is 201
    And the bulk results have statuses "201, 201"
    When I list the users
    Then the list has 7 users

  Scenario: The stand-alone smoke test's bulk create and bulk update of one user
    When I send a POST request to "/users/" with header "Bulk-Request: true" and body:
      """
      {"users":[{"accountid":1,"name":"Split Enz Neil Finn","email":"splitenz@gmail.com","role":1,"password":"sinner"}]}
      """
    Then the response status is 201
    And bulk result 1 is the user with id 6 named "Split Enz Neil Finn"
    When I send a PUT request to "/users/" with header "Bulk-Request: true" and body:
      """
      {"users":[{"accountid":1,"id":6,"name":"Fleetwood Mac Neil Finn","email":"splitenz@gmail.com","role":1,"password":"helpmerhonda"}]}
      """
    Then the response status is 200
    And the response JSON at "/overallstatus" is 200
    When I list the users
    Then the list has a user with id 6 named "Fleetwood Mac Neil Finn"

  Scenario: The smoke test's failure checks
    When I send a GET request to "/xxx"
    Then the response status is 400
    And the response is a JSON error whose message contains "Malformed URL, URL must be of the form /users, /users/{id}, /accountdhealth, or /metrics"
    When I send a POST request to "/users/" with body:
      """
      {"accountid":1,"name":"Brian Wilson","email":"mickeyd@gmail.com","role":1,"password":"helpmerhonda"}
      """
    Then the response status is 409
    And the response is a JSON error whose message contains "attempt to insert duplicate user"
    When I send a PUT request to "/users/6" with body:
      """
      {"accountid":1,"id":6,"name":"BeachBoy Brian Wilson","email":"goodvibrations@gmail.com","role":1,"password":"helpmerhonda"}
      """
    Then the response status is 404
    And the response is a JSON error whose message contains "attempted update on a non-existent user"
    When I send a DELETE request to "/users/6"
    Then the response status is 200
