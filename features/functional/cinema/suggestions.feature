@mongo @cinema
Feature: Movie suggestions through all four services
  `GET /users/{id}/suggestions` on the users service fetches the bookings, movies and showtimes
  services' lists over HTTP and answers the movies the user has not booked yet, best first. A
  movie's score is how many other users who booked a movie in common with the user booked it;
  ties go to the higher rating. Each suggestion carries the days it is shown. When a service it
  needs fails, the answer is a 502 (unreachable, after bounded retries) or a 504 (too slow),
  within the suggestions timeout: never a hang.

  Seed bookings: Manuel booked El padrino, Zootopia and Vampiros en La Habana; Ramón El padrino,
  Zootopia and Fresa y Chocolate; Cristina Fresa y Chocolate and Zootopia.

  Scenario: A seeded user gets what their co-bookers booked, with its showtimes
    Given the four cinema services on a fresh database with the seed data
    When I send a GET request to the users service at "/users/57a98d98e4b00679b4a830b5/suggestions"
    Then the response status is 200
    And the response header "Content-Type" is "application/json"
    And the response body is exactly:
      """
      {"data":[{"id":"57b37b7c377dd100054f9f91","title":"El padrino","director":"Francis Ford Coppola","rating":"9.2","createdon":"2016-08-16T22:00:00Z","score":2,"showtimes":["2016-08-15","2016-08-18"]},{"id":"57b37b7c377dd100054f9f93","title":"Vampiros en La Habana","director":"Juan Padrón","rating":"7.4","createdon":"2016-08-16T22:00:00Z","score":1,"showtimes":["2016-08-16","2016-08-17"]}]}
      """

  Scenario Outline: Every seeded user's suggestions
    Given the four cinema services on a fresh database with the seed data
    When I send a GET request to the users service at "/users/<user>/suggestions"
    Then the response status is 200
    And the response data "title" values are "<titles>"
    And the response data "score" values are "<scores>"

    Examples:
      | who      | user                     | titles                                  | scores |
      | Manuel   | 57a98d98e4b00679b4a830af | Fresa y Chocolate                       | 2      |
      | Ramón    | 57a98d98e4b00679b4a830b2 | Vampiros en La Habana                   | 1      |
      | Cristina | 57a98d98e4b00679b4a830b5 | El padrino, Vampiros en La Habana       | 2, 1   |

  Scenario: A new booking changes the suggestions at once, ties going to the higher rating
    Given the four cinema services on a fresh database with the seed data
    When I send a POST request to the users service at "/users" with body:
      """
      {"data":{"name":"Ana","lastname":"de Armas"}}
      """
    And I remember the response's id as "ana"
    And I send a POST request to the bookings service at "/bookings" with body:
      """
      {"data":{"userid":"{ana}","showtimeid":"57b37e39d88780000587358a","movies":["57b37b7c377dd100054f9f92"]}}
      """
    Then the response status is 200
    When I send a GET request to the users service at "/users/{ana}/suggestions"
    Then the response status is 200
    And the response data "title" values are "El padrino, Fresa y Chocolate, Vampiros en La Habana"
    And the response data "score" values are "2, 2, 1"

  Scenario: A user without bookings gets every movie, best rated first
    Given the four cinema services on a fresh database with the seed data
    When I send a POST request to the users service at "/users" with body:
      """
      {"data":{"name":"Ana","lastname":"de Armas"}}
      """
    And I remember the response's id as "ana"
    And I send a GET request to the users service at "/users/{ana}/suggestions"
    Then the response status is 200
    And the response data "title" values are "El padrino, Zootopia, Fresa y Chocolate, Vampiros en La Habana"
    And the response data "score" values are "0, 0, 0, 0"

  Scenario: A movie added through the movies service is suggested with its showtime
    Given the four cinema services on a fresh database with the seed data
    When I send a POST request to the movies service at "/movies" with body:
      """
      {"data":{"title":"Suite Habana","director":"Fernando Pérez","rating":"8.1"}}
      """
    And I remember the response's id as "suite"
    And I send a POST request to the showtimes service at "/showtimes" with body:
      """
      {"data":{"date":"2016-08-19","movies":["{suite}"]}}
      """
    And I send a POST request to the bookings service at "/bookings" with body:
      """
      {"data":{"userid":"57a98d98e4b00679b4a830b2","showtimeid":"57b37e39d88780000587358a","movies":["{suite}"]}}
      """
    And I send a GET request to the users service at "/users/57a98d98e4b00679b4a830af/suggestions"
    Then the response status is 200
    And the response data "title" values are "Fresa y Chocolate, Suite Habana"
    And the response data "score" values are "2, 1"
    And the response JSON at "/data/1/showtimes" is ["2016-08-19"]

  Scenario: An unknown user is a 404 and a malformed id a 400
    Given the four cinema services on a fresh database with the seed data
    When I send a GET request to the users service at "/users/0123456789abcdef01234567/suggestions"
    Then the response status is 404
    And the response is a JSON error whose message contains "user"
    When I send a GET request to the users service at "/users/not-an-id/suggestions"
    Then the response status is 400
    And the response is a JSON error whose message contains "not an ObjectId"

  Scenario: With the movies service stopped, suggestions answer 502 in time
    Given the four cinema services on a fresh database with the seed data
    When the movies service is stopped
    And I send a GET request to the users service at "/users/57a98d98e4b00679b4a830b5/suggestions"
    Then the response status is 502
    And the response is a JSON error whose message contains "movies service"
    And the answer came within the suggestions timeout
    And the response JSON at "/error/code" is "bad_gateway"

  Scenario: A movies service that never answers makes suggestions answer 504 in time
    Given the cinema services on a fresh database with the seed data and a movies service that never answers
    When I send a GET request to the users service at "/users/57a98d98e4b00679b4a830b5/suggestions"
    Then the response status is 504
    And the response is a JSON error whose message contains "movies service did not answer"
    And the answer came within the suggestions timeout
    And the response JSON at "/error/code" is "gateway_timeout"

  Scenario: The users service's own routes are unchanged
    Given the four cinema services on a fresh database with the seed data
    When I send a GET request to the users service at "/users"
    Then the response status is 200
    And the response is the data envelope with a list of 3
