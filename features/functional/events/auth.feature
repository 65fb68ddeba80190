@redis @events
Feature: POST /event needs a bearer token once the producer has a secret
  With a JWT secret configured (here a random one of the scenario's own) POST /event needs
  "Authorization: Bearer <jwt>": HS256, signed with that secret, for the audience
  "event-producer", issued by "mockvideo", started (nbf) and unexpired, valid for at most 24
  hours. Anything else is a 401 with {"error":{"code":"unauthorized",...}} whose message names
  the refusal, and a WWW-Authenticate challenge; nothing reaches the stream. /livez, /readyz and
  /metrics need no token. Without a secret, the producer is as open as the original.

  Scenario: An event without a token is a 401 with a Bearer challenge and is not stored
    Given the services this scenario starts have a JWT secret
    And an event producer on a fresh stream
    When I post the event "no token"
    Then the response status is 401
    And the response is a JSON error whose message contains "no token"
    And the response JSON at "/error/code" is "unauthorized"
    And the response header "www-authenticate" is "Bearer"
    And the stream holds 1 entries

  Scenario Outline: An event with <token> is refused as "<refusal>" and is not stored
    Given the services this scenario starts have a JWT secret
    And an event producer on a fresh stream
    And I use <token>
    When I send a POST request to "/event" with the token and body:
      """
      {"description":"refused"}
      """
    Then the response status is 401
    And the response is a JSON error whose message contains "<refusal>"
    And the response JSON at "/error/code" is "unauthorized"
    And the response has a header "www-authenticate"
    And the stream holds 1 entries

    Examples:
      | token                                       | refusal           |
      | an expired token                            | expired           |
      | a token that is not valid yet               | not yet valid     |
      | a token for another audience                | wrong audience    |
      | a token from another issuer                 | wrong issuer      |
      | a token valid for too long                  | lifetime too long |
      | an unsigned token with alg none             | wrong algorithm   |
      | a token signed with another secret          | bad signature     |
      | a malformed token                           | malformed         |
      | a valid token for the accountd service only | wrong audience    |

  Scenario: An event with a valid token is accepted and stored
    Given the services this scenario starts have a JWT secret
    And an event producer on a fresh stream
    And I use a valid token for the event-producer service only
    When I send a POST request to "/event" with the token and body:
      """
      {"description":"with a token"}
      """
    Then the response status is 200
    And the latest notification in the stream has description "with a token"

  Scenario: Health and metrics need no token even with auth on
    Given the services this scenario starts have a JWT secret
    And an event producer on a fresh stream
    When I send a GET request to "/livez"
    Then the response status is 200
    When I send a GET request to "/readyz"
    Then the response status is 200
    When I send a GET request to "/metrics"
    Then the response status is 200

  Scenario: Without a secret (no auth), an event needs no token
    Given an event producer on a fresh stream
    When I post the event "no auth"
    Then the response status is 200
    And the latest notification in the stream has description "no auth"
