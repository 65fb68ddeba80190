@mongo @cinema
Feature: Writes need a valid HS256 bearer token once a secret is configured; reads stay open
  With a JWT secret configured (here a random one of the scenario's own) every POST and DELETE
  needs "Authorization: Bearer <jwt>" signed with that secret (HS256 only, unexpired, for the
  service's audience: movies, showtimes, bookings or users). A missing or invalid token is a 401
  with {"error":{"code":"unauthorized",...}} and a WWW-Authenticate challenge, and nothing is
  stored. GET, /healthz and /healthy need no token. Every refusal class is also covered by
  accountd/auth.feature and events/auth.feature, over the same platform::auth.

  Scenario: A POST without a token is a 401 with a Bearer challenge and stores nothing
    Given the movies service on a fresh database with auth on
    And I use no token
    When I send a POST request to the movies service at "/movies" with body:
      """
      {"data":{"title":"Zootopia","director":"Byron Howard","rating":"8.0"}}
      """
    Then the response status is 401
    And the response is a JSON error
    And the response JSON at "/error/code" is "unauthorized"
    And the response header "www-authenticate" is "Bearer"
    When I send a GET request to the movies service at "/movies"
    Then the response status is 200
    And the response is the data envelope with null

  Scenario Outline: A POST with <token> is a 401 and stores nothing
    Given the movies service on a fresh database with auth on
    And I use <token>
    When I send a POST request to the movies service at "/movies" with body:
      """
      {"data":{"title":"Zootopia","director":"Byron Howard","rating":"8.0"}}
      """
    Then the response status is 401
    And the response is a JSON error whose message contains "<reason>"
    And the response JSON at "/error/code" is "unauthorized"
    And the response has a header "www-authenticate"
    When I use no token
    And I send a GET request to the movies service at "/movies"
    Then the response status is 200
    And the response is the data envelope with null

    Examples:
      | token                              | reason        |
      | a token signed with another secret | signature     |
      | an expired token                   | expired       |
      | an unsigned token with alg none    | HS256         |
      | a token that is not valid yet      | not yet valid |
      | a token for another audience       | audience      |
      | a token from another issuer        | issuer        |
      | a token valid for too long         | lifetime      |

  Scenario: A valid token posts (200 with the document) and deletes (204)
    Given the movies service on a fresh database with auth on
    And I use a valid token
    When I send a POST request to the movies service at "/movies" with body:
      """
      {"data":{"title":"Zootopia","director":"Byron Howard","rating":"8.0"}}
      """
    Then the response status is 200
    And the response data has a new ObjectId
    And the response JSON at "/data/title" is "Zootopia"
    And I remember the response's id as "zootopia"
    When I use no token
    And I send a DELETE request to the movies service at "/movies/{zootopia}"
    Then the response status is 401
    And the response JSON at "/error/code" is "unauthorized"
    When I send a GET request to the movies service at "/movies/{zootopia}"
    Then the response status is 200
    And the response data is the remembered "zootopia"
    When I use a valid token
    And I send a DELETE request to the movies service at "/movies/{zootopia}"
    Then the response status is 204
    When I use no token
    And I send a GET request to the movies service at "/movies/{zootopia}"
    Then the response status is 404

  Scenario: A token minted for the movies service only does not open the users service
    Given the four cinema services on a fresh database with auth on
    And I use a valid token for the movies service only
    When I send a POST request to the users service at "/users" with body:
      """
      {"data":{"name":"Ada","lastname":"Lovelace"}}
      """
    Then the response status is 401
    And the response is a JSON error whose message contains "wrong audience"
    When I send a POST request to the movies service at "/movies" with body:
      """
      {"data":{"title":"Zootopia","director":"Byron Howard","rating":"8.0"}}
      """
    Then the response status is 200

  Scenario: Reads and health checks need no token
    Given the movies service on a fresh database with auth on
    And I use no token
    When I send a GET request to the movies service at "/movies"
    Then the response status is 200
    And the response is the data envelope with null
    When I send a GET request to the movies service at "/healthz"
    Then the response status is 200
    When I send a GET request to the movies service at "/healthy"
    Then the response status is 200

  Scenario Outline: The <service> service refuses an unauthenticated write
    Given the four cinema services on a fresh database with auth on
    And I use no token
    When I send a POST request to the <service> service at "/<service>" with body:
      """
      {"data":{}}
      """
    Then the response status is 401
    And the response is a JSON error
    And the response JSON at "/error/code" is "unauthorized"
    And the response header "www-authenticate" is "Bearer"
    When I send a GET request to the <service> service at "/<service>"
    Then the response status is 200
    And the response is the data envelope with null

    Examples:
      | service   |
      | movies    |
      | showtimes |
      | bookings  |
      | users     |
