@mysql @accountd
Feature: accountd needs a bearer token on every route but health, metrics and its OpenAPI document once a secret is configured
  With a JWT secret configured (here a random one of the scenario's own) every request, reads
  included (they are personal data), needs "Authorization: Bearer <jwt>": HS256, signed with
  that secret, for the audience "accountd", issued by "mockvideo", started (nbf) and unexpired,
  valid for at most 24 hours. Anything else is a 401 with {"error":{"code":"unauthorized",...}}
  whose message names the refusal, and a WWW-Authenticate challenge; nothing is read or stored.
  /accountdhealth, /livez, /readyz, /metrics and /openapi.json need no token. Without a secret,
  accountd is as open as the original.

  Scenario: A read without a token is a 401 with a Bearer challenge
    Given the services this scenario starts have a JWT secret
    And accountd is running on a fresh database with the seed's test data
    When I send a GET request to "/users"
    Then the response status is 401
    And the response is a JSON error whose message contains "no token"
    And the response JSON at "/error/code" is "unauthorized"
    And the response header "www-authenticate" is "Bearer"

  Scenario Outline: A request with <token> is refused as "<refusal>" and changes nothing
    Given the services this scenario starts have a JWT secret
    And accountd is running on a fresh database with the seed's test data
    And I use <token>
    When I send a <method> request to "<path>" with the token and body:
      """
      {"accountid":1,"name":"Brian Wilson","email":"goodvibrations@gmail.com","role":1,"password":"helpmerhonda"}
      """
    Then the response status is 401
    And the response is a JSON error whose message contains "<refusal>"
    And the response JSON at "/error/code" is "unauthorized"
    And the response has a header "www-authenticate"
    When I use a valid token
    And I send a GET request to "/users" with the token
    Then the response status is 200
    And the list has 5 users

    Examples:
      | token                              | method | path     | refusal           |
      | an expired token                   | GET    | /users   | expired           |
      | a token that is not valid yet      | GET    | /users/1 | not yet valid     |
      | a token for another audience       | POST   | /users   | wrong audience    |
      | a token from another issuer        | PUT    | /users/1 | wrong issuer      |
      | a token valid for too long         | DELETE | /users/1 | lifetime too long |
      | an unsigned token with alg none    | POST   | /users   | wrong algorithm   |
      | a token signed with another secret | DELETE | /users/2 | bad signature     |
      | a malformed token                  | GET    | /users   | malformed         |

  Scenario: A token minted for the cinema services only does not open accountd
    Given the services this scenario starts have a JWT secret
    And accountd is running on a fresh database with the seed's test data
    And I use a valid token for the movies service only
    When I send a GET request to "/users" with the token
    Then the response status is 401
    And the response is a JSON error whose message contains "wrong audience"

  Scenario: A valid token reads, creates and deletes users
    Given the services this scenario starts have a JWT secret
    And accountd is running on a fresh database with the seed's test data
    And I use a valid token for the accountd service only
    When I send a GET request to "/users/1" with the token
    Then the response status is 200
    When I send a POST request to "/users" with the token and body:
      """
      {"accountid":1,"name":"Brian Wilson","email":"goodvibrations@gmail.com","role":1,"password":"helpmerhonda"}
      """
    Then the response status is 201
    And the response header "Location" is "/users/6"
    When I send a DELETE request to "/users/6" with the token
    Then the response status is 200

  Scenario: Health, metrics and the OpenAPI document need no token even with auth on
    Given the services this scenario starts have a JWT secret
    And accountd is running on a fresh database with the seed's test data
    When I send a GET request to "/accountdhealth"
    Then the response status is 200
    When I send a GET request to "/livez"
    Then the response status is 200
    When I send a GET request to "/readyz"
    Then the response status is 200
    When I send a GET request to "/metrics"
    Then the response status is 200
    When I send a GET request to "/openapi.json"
    Then the response status is 200
    And the response JSON at "/components/securitySchemes/bearer/scheme" is "bearer"

  Scenario: Without a secret (no auth), a client of the original needs no token
    Given accountd is running on a fresh database with the seed's test data
    When I list the users
    Then the list has 5 users
