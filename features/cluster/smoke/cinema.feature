@cluster @cinema
Feature: The cinema services answer on the cluster
  The deployed movies, showtimes, bookings and users pods keep the cinema contract: each stores,
  reads and deletes documents the scenario creates (names carry the run label) and deletes at the
  end (a failed scenario's documents are deleted in teardown); the users service suggests movies
  from the other three. Writes need no token in this deployment.

  Background:
    Given the movies service on the cluster
    And the showtimes service on the cluster
    And the bookings service on the cluster
    And the users service on the cluster

  Scenario: Each service is live and ready
    When I send a GET request to the movies service at "/healthy"
    Then the response status is 200
    When I send a GET request to the showtimes service at "/healthy"
    Then the response status is 200
    When I send a GET request to the bookings service at "/healthy"
    Then the response status is 200
    When I send a GET request to the users service at "/healthz"
    Then the response status is 200
    When I send a GET request to the users service at "/healthy"
    Then the response status is 200

  Scenario: A movie is created, read, listed and deleted
    When I send a POST request to the movies service at "/movies" with body:
      """
      {"data":{"title":"Lucía {run}","director":"Humberto Solás","rating":"7.5"}}
      """
    Then the response status is 200
    And the response data has a new ObjectId
    And I remember the response's id as "movie"
    When I send a GET request to the movies service at "/movies/{movie}"
    Then the response status is 200
    And the text at "/data/title" in the response JSON reads "Lucía {run}"
    When I send a GET request to the movies service at "/movies"
    Then the response data list contains the remembered "movie"
    When I send a DELETE request to the movies service at "/movies/{movie}"
    Then the response status is 204
    When I send a GET request to the movies service at "/movies/{movie}"
    Then the response status is 404

  Scenario: A showtime is created, listed and deleted
    When I send a POST request to the showtimes service at "/showtimes" with body:
      """
      {"data":{"date":"2031-05-17","movies":["57b37b7c377dd100054f9f91"]}}
      """
    Then the response status is 200
    And the response data has a new ObjectId
    And I remember the response's id as "showtime"
    When I send a GET request to the showtimes service at "/showtimes"
    Then the response data list contains the remembered "showtime"
    When I send a DELETE request to the showtimes service at "/showtimes/{showtime}"
    Then the response status is 204
    When I send a DELETE request to the showtimes service at "/showtimes/{showtime}"
    Then the response status is 404

  Scenario: A user books a movie, gets suggestions, and everything is deleted again
    When I send a POST request to the users service at "/users" with body:
      """
      {"data":{"name":"Ana {run}","lastname":"de Armas"}}
      """
    Then the response status is 200
    And I remember the response's id as "user"
    When I send a POST request to the movies service at "/movies" with body:
      """
      {"data":{"title":"Memorias del subdesarrollo {run}","director":"Tomás Gutiérrez Alea","rating":"7.9"}}
      """
    Then the response status is 200
    And I remember the response's id as "movie"
    When I send a POST request to the showtimes service at "/showtimes" with body:
      """
      {"data":{"date":"2031-05-18","movies":["{movie}"]}}
      """
    Then the response status is 200
    And I remember the response's id as "showtime"
    When I send a POST request to the bookings service at "/bookings" with body:
      """
      {"data":{"userid":"{user}","showtimeid":"{showtime}","movies":["{movie}"]}}
      """
    Then the response status is 200
    And I remember the response's id as "booking"
    When I send a GET request to the bookings service at "/bookings"
    Then the response data list contains the remembered "booking"
    When I send a GET request to the users service at "/users"
    Then the response data list contains the remembered "user"
    When I send a GET request to the users service at "/users/{user}/suggestions"
    Then the response status is 200
    And the response header "Content-Type" is "application/json"
    When I send a DELETE request to the bookings service at "/bookings/{booking}"
    Then the response status is 204
    When I send a DELETE request to the showtimes service at "/showtimes/{showtime}"
    Then the response status is 204
    When I send a DELETE request to the movies service at "/movies/{movie}"
    Then the response status is 204
    When I send a DELETE request to the users service at "/users/{user}"
    Then the response status is 204
    When I send a DELETE request to the users service at "/users/{user}"
    Then the response status is 404
