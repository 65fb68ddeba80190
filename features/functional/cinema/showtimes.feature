@mongo @cinema
Feature: The showtimes service stores showtimes and finds the first one of a date
  GET /showtimes/{date} answers the first showtime whose date is the path text; an unknown date
  is a 404 JSON error (the original panicked into a 500). DELETE is by id.

  Background:
    Given the showtimes service on a fresh database

  Scenario: An empty collection is listed as {"data":null}
    When I send a GET request to "/showtimes/"
    Then the response status is 200
    And the response is the data envelope with null

  Scenario: Posting a showtime answers 200 with the stored document
    When I send a POST request to "/showtimes" with body:
      """
      {"data":{"date":"2016-08-15","movies":["57b37c7b377dd100054f9f94"]}}
      """
    Then the response status is 200
    And the response header "content-type" is "application/json"
    And the response data has a new ObjectId
    And the response data has a recent createdon
    And the response JSON at "/data/date" is "2016-08-15"
    And the response JSON at "/data/movies" is ["57b37c7b377dd100054f9f94"]

  Scenario: A showtime without movies has movies null
    When I send a POST request to "/showtimes" with body:
      """
      {"data":{"date":"2016-08-16"}}
      """
    Then the response status is 200
    And the response JSON at "/data/movies" is null

  Scenario: The first showtime of a date is found by the date, with or without a format suffix
    When I send a POST request to "/showtimes" with body:
      """
      {"data":{"date":"2016-08-15","movies":["57b37b7c377dd100054f9f91"]}}
      """
    And I remember the response's id as "first"
    And I send a POST request to "/showtimes" with body:
      """
      {"data":{"date":"2016-08-15","movies":["57b37b7c377dd100054f9f92"]}}
      """
    And I send a GET request to "/showtimes/2016-08-15"
    Then the response status is 200
    And the response data is the remembered "first"
    When I send a GET request to "/showtimes/2016-08-15.json"
    Then the response status is 200
    And the response data is the remembered "first"
    When I send a GET request to "/showtimes"
    Then the response is the data envelope with a list of 2
    And the response data list contains the remembered "first"

  Scenario: An unknown date is a 404 JSON error, not a 500
    When I send a GET request to "/showtimes/2031-01-01"
    Then the response status is 404
    And the response is a JSON error

  Scenario: Deleting a showtime by id answers 204, then 404
    When I send a POST request to "/showtimes" with body:
      """
      {"data":{"date":"2016-08-17","movies":["57b37b7c377dd100054f9f93"]}}
      """
    And I remember the response's id as "showtime"
    And I send a DELETE request to the showtimes service at "/showtimes/{showtime}"
    Then the response status is 204
    And the response body is empty
    When I send a DELETE request to the showtimes service at "/showtimes/{showtime}"
    Then the response status is 404
    And the response is a JSON error
    When I send a GET request to "/showtimes/2016-08-17"
    Then the response status is 404
    When I send a GET request to "/showtimes"
    Then the response is the data envelope with null
