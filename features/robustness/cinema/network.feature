@mongo @cinema @network @chaos
Feature: The cinema services when a link to MongoDB or to another service fails
  The service under test reaches MongoDB (or the users service reaches the movies service)
  through a fault proxy of the scenario's own. A MongoDB that stops passing data costs a request
  at most the store's operation timeout (3 s here): 503 with `Retry-After`, never a hang; so do
  connections reset (RST) as soon as they carry data. The users service answers 504 within its
  suggestions timeout (2 s) when the movies service is slower than that. Each recovers by itself
  once the link heals; the recovery time is printed. Answers cut into 16-byte pieces, or
  throttled to 64 KB/s, still arrive whole.

  Scenario: MongoDB stops passing data under movies: a bounded 503, then recovery
    Given movies reaches MongoDB through a fault proxy
    And the movies service on a fresh database with the seed data
    When MongoDB stops passing data
    And I send a GET request to the movies service at "/movies"
    Then the response status is 503
    And the response has a header "Retry-After"
    And the response came within 4000 ms
    When the link heals
    Then GET "/movies" answers 200 again within 15 s

  Scenario: MongoDB reset under movies: a bounded 503, then recovery
    Given movies reaches MongoDB through a fault proxy
    And the movies service on a fresh database with the seed data
    When I send a GET request to the movies service at "/movies"
    Then the response status is 200
    When the connection to MongoDB is reset
    And I send a GET request to the movies service at "/movies"
    Then the response status is 503
    And the response has a header "Retry-After"
    And the response came within 4000 ms
    When the link heals
    Then GET "/movies" answers 200 again within 15 s

  Scenario: The link from users to movies slow: suggestions answer 504 within their timeout
    Given the users service reaches the movies service through a fault proxy
    And the four cinema services on a fresh database with the seed data
    When the link from users to movies gets 3000 ms of latency
    And I send a GET request to the users service at "/users/57a98d98e4b00679b4a830b5/suggestions"
    Then the response status is 504
    And the response JSON at "/error/code" is "gateway_timeout"
    And the answer came within the suggestions timeout
    When the link heals
    Then GET "/users/57a98d98e4b00679b4a830b5/suggestions" answers 200 again within 10 s

  Scenario: MongoDB's answers sliced into 16-byte pieces, then throttled: movies still answers whole
    Given movies reaches MongoDB through a fault proxy
    And the movies service on a fresh database with the seed data
    When the link slices its answers into 16-byte pieces
    And I send a GET request to the movies service at "/movies"
    Then the response status is 200
    And the response is the data envelope with a list of 4
    When the link is throttled to 64 KB/s
    And I send a GET request to the movies service at "/movies"
    Then the response status is 200
    And the response is the data envelope with a list of 4
    And the response came within 3000 ms
