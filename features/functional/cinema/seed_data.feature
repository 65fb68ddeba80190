@mongo @cinema
Feature: The seed data and a booking flow through all four services
  The seed of contract §3.3 (three users, four movies, showtimes for 2016-08-15 to 2016-08-18,
  five bookings) reads back through each service, and a new user can book a new movie's
  showtime, each step on the service that owns it, all in one database.

  Background:
    Given the four cinema services on a fresh database with the seed data

  Scenario: Each service lists its seed documents
    When I send a GET request to the users service at "/users"
    Then the response status is 200
    And the response is the data envelope with a list of 3
    And the response data "name" values are, in any order, "Manuel, Ramón, Cristina"
    And the response data "lastname" values are, in any order, "Morejón, Cabrera, Cruz"
    When I send a GET request to the movies service at "/movies"
    Then the response is the data envelope with a list of 4
    And the response data "title" values are, in any order, "El padrino, Zootopia, Vampiros en La Habana, Fresa y Chocolate"
    When I send a GET request to the showtimes service at "/showtimes"
    Then the response is the data envelope with a list of 4
    And the response data "date" values are, in any order, "2016-08-15, 2016-08-16, 2016-08-17, 2016-08-18"
    When I send a GET request to the bookings service at "/bookings"
    Then the response is the data envelope with a list of 5
    And the response data "userid" values are, in any order, "57a98d98e4b00679b4a830af, 57a98d98e4b00679b4a830af, 57a98d98e4b00679b4a830b2, 57a98d98e4b00679b4a830b2, 57a98d98e4b00679b4a830b5"

  Scenario: A seeded movie reads back with its documented body
    When I send a GET request to the movies service at "/movies/57b37b7c377dd100054f9f92"
    Then the response status is 200
    And the response body is exactly:
      """
      {"data":{"id":"57b37b7c377dd100054f9f92","title":"Zootopia","director":"Byron Howard","rating":"8.0","createdon":"2016-08-16T22:00:00Z"}}
      """

  Scenario: A seeded showtime is found by its date
    When I send a GET request to the showtimes service at "/showtimes/2016-08-16"
    Then the response status is 200
    And the response body is exactly:
      """
      {"data":{"id":"57b37e39d88780000587358b","date":"2016-08-16","createdon":"2016-08-16T22:00:00Z","movies":["57b37b7c377dd100054f9f92","57b37b7c377dd100054f9f93"]}}
      """

  Scenario: A new user books a new movie's showtime through the four services
    When I send a POST request to the users service at "/users" with body:
      """
      {"data":{"name":"Ana","lastname":"de Armas"}}
      """
    Then the response status is 200
    When I remember the response's id as "ana"
    And I send a POST request to the movies service at "/movies" with body:
      """
      {"data":{"title":"Suite Habana","director":"Fernando Pérez","rating":"8.1"}}
      """
    Then the response status is 200
    When I remember the response's id as "suite"
    And I send a POST request to the showtimes service at "/showtimes" with body:
      """
      {"data":{"date":"2016-08-19","movies":["{suite}","57b37b7c377dd100054f9f91"]}}
      """
    Then the response status is 200
    And the response data "movies" lists the ids "suite, 57b37b7c377dd100054f9f91"
    When I remember the response's id as "evening"
    And I send a POST request to the bookings service at "/bookings" with body:
      """
      {"data":{"userid":"{ana}","showtimeid":"{evening}","movies":["{suite}"]}}
      """
    Then the response status is 200
    And the response data "userid" is the remembered "ana"
    And the response data "showtimeid" is the remembered "evening"
    When I remember the response's id as "booking"
    And I send a GET request to the bookings service at "/bookings"
    Then the response is the data envelope with a list of 6
    And the response data list contains the remembered "booking"
    When I send a GET request to the showtimes service at "/showtimes/2016-08-19"
    Then the response status is 200
    And the response data is the remembered "evening"
    When I send a GET request to the movies service at "/movies/{suite}"
    Then the response data is the remembered "suite"
    When I send a GET request to the users service at "/users"
    Then the response is the data envelope with a list of 4
    And the response data list contains the remembered "ana"

  Scenario: Deleting a seeded movie touches no other service's documents
    When I send a DELETE request to the movies service at "/movies/57b37b7c377dd100054f9f91"
    Then the response status is 204
    When I send a GET request to the movies service at "/movies"
    Then the response is the data envelope with a list of 3
    When I send a GET request to the showtimes service at "/showtimes/2016-08-15"
    Then the response JSON at "/data/movies" is ["57b37b7c377dd100054f9f91","57b37b7c377dd100054f9f92"]
    When I send a GET request to the bookings service at "/bookings"
    Then the response is the data envelope with a list of 5
