@mysql @accountd
Feature: Bad input gets a clear 4xx JSON error and changes nothing
  The original panicked, dropped connections or answered 5xx on some of these. Here every class of
  bad input answers a 4xx with {"error":{"code":..,"message":..}}, and the table is unchanged.

  Background:
    Given accountd is running on a fresh database with the seed's test data

  Scenario Outline: Malformed or mistyped bodies are rejected (<case>)
    When I send a <method> request to "<path>" with body:
      """
      <body>
      """
    Then the response status is 400
    And the response is a JSON error whose message contains "<message>"
    When I list the users
    Then the list has 5 users

    Examples:
      | case                  | method | path     | body                                                                                            | message                                             |
      | malformed JSON        | POST   | /users   | {bad                                                                                            | JSON Decoding Error, possibly malformed JSON object |
      | empty body            | POST   | /users   |                                                                                                 | JSON Decoding Error, possibly malformed JSON object |
      | a JSON array          | POST   | /users   | [1,2,3]                                                                                         | JSON Decoding Error, possibly malformed JSON object |
      | role is a string      | POST   | /users   | {"accountid":1,"name":"A","email":"a@example.com","role":"admin","password":"pw"}               | JSON Decoding Error, possibly malformed JSON object |
      | accountid is a float  | POST   | /users   | {"accountid":1.5,"name":"A","email":"a@example.com","role":1,"password":"pw"}                   | JSON Decoding Error, possibly malformed JSON object |
      | name is a number      | POST   | /users   | {"accountid":1,"name":7,"email":"a@example.com","role":1,"password":"pw"}                       | JSON Decoding Error, possibly malformed JSON object |
      | unknown field         | POST   | /users   | {"accountid":1,"name":"A","email":"a@example.com","role":1,"password":"pw","nickname":"x"}      | JSON Decoding Error, possibly malformed JSON object |
      | missing name          | POST   | /users   | {"accountid":1,"email":"a@example.com","role":1,"password":"pw"}                                | DB insert or update failed                          |
      | missing password      | POST   | /users   | {"accountid":1,"name":"A","email":"a@example.com","role":1}                                     | DB insert or update failed                          |
      | missing accountid     | POST   | /users   | {"name":"A","email":"a@example.com","role":1,"password":"pw"}                                   | DB insert or update failed                          |
      | role out of range     | POST   | /users   | {"accountid":1,"name":"A","email":"a@example.com","role":7,"password":"pw"}                     | DB insert or update failed                          |
      | id on create          | POST   | /users   | {"accountid":1,"id":3,"name":"A","email":"a@example.com","role":1,"password":"pw"}              | expected User.ID                                    |
      | malformed JSON on PUT | PUT    | /users/1 | {bad                                                                                            | JSON Decoding Error, possibly malformed JSON object |
      | invalid user on PUT   | PUT    | /users/1 | {"accountid":1,"id":1,"name":"","email":"mickeyd@gmail.com","role":1,"password":"pw"}           | DB insert or update failed                          |

  Scenario: A name longer than the column is a 400, not a dropped connection
    When I create a user whose name is 300 characters long
    Then the response status is 400
    And the response is a JSON error whose message contains "DB insert or update failed"

  Scenario: An e-mail longer than the column is a 400
    When I create a user whose email is 300 characters long
    Then the response status is 400
    And the response is a JSON error

  Scenario: A body over the size limit is refused with 413
    When I send a POST request to "/users" with a JSON body of 2097152 bytes
    Then the response status is 413
    And the response is a JSON error
    When I list the users
    Then the list has 5 users

  Scenario Outline: Ids that are not numbers, or paths with extra parts, are malformed URLs (<path>)
    When I send a <method> request to "<path>"
    Then the response status is 400
    And the response is a JSON error whose message contains "Malformed URL"

    Examples:
      | method | path                         |
      | GET    | /users/notanumber            |
      | GET    | /users/99999999999999999999  |
      | GET    | /users/1/extraNode           |
      | DELETE | /users/abc                   |
      | DELETE | /users                       |
      | GET    | /unexpectedresource          |

  Scenario: Creating at a user's URL is a malformed URL
    When I send a POST request to "/users/1" with body:
      """
      {"accountid":1,"name":"A","email":"a@example.com","role":1,"password":"pw"}
      """
    Then the response status is 400
    And the response is a JSON error whose message contains "Malformed URL"

  Scenario Outline: Unknown and non-positive ids are not found (<path>)
    When I send a GET request to "<path>"
    Then the response status is 404
    And the response is a JSON error

    Examples:
      | path       |
      | /users/42  |
      | /users/0   |
      | /users/-1  |

  Scenario Outline: Methods other than GET, POST, PUT and DELETE are not allowed (<method>)
    When I send a <method> request to "/users/1"
    Then the response status is 405
    And the response is a JSON error

    Examples:
      | method  |
      | PATCH   |
      | OPTIONS |
