@mongo @cinema
Feature: The users service stores, lists and deletes users

  Background:
    Given the users service on a fresh database

  Scenario: An empty collection is listed as {"data":null}
    When I send a GET request to "/users"
    Then the response status is 200
    And the response is the data envelope with null

  Scenario: Posting a user answers 200 with exactly the stored document
    When I send a POST request to "/users" with body:
      """
      {"data":{"name":"Manuel","lastname":"Morejón"}}
      """
    Then the response status is 200
    And the response header "content-type" is "application/json"
    And the response data has a new ObjectId
    And the response JSON at "/data/name" is "Manuel"
    And the response JSON at "/data/lastname" is "Morejón"
    And no "createdon" field appears in the response
    When I remember the response's id as "manuel"
    And I send a GET request to "/users/"
    Then the response is the data envelope with a list of 1
    And the response data list contains the remembered "manuel"

  Scenario: Deleting a user answers 204, then 404, and the list is empty again
    When I send a POST request to "/users" with body:
      """
      {"data":{"name":"Cristina","lastname":"Cruz"}}
      """
    And I remember the response's id as "cristina"
    And I send a DELETE request to the users service at "/users/{cristina}"
    Then the response status is 204
    And the response body is empty
    When I send a DELETE request to the users service at "/users/{cristina}"
    Then the response status is 404
    And the response is a JSON error
    When I send a GET request to "/users"
    Then the response is the data envelope with null
