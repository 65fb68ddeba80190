@mongo @cinema
Feature: The bookings service stores, lists and deletes bookings
  A booking echoes its user, showtime and movies with a new id and no createdon. There is no
  GET by id (405, Allow: DELETE), and no referential check (a booking may name any ids).

  Background:
    Given the bookings service on a fresh database

  Scenario: An empty collection is listed as {"data":null}
    When I send a GET request to "/bookings"
    Then the response status is 200
    And the response is the data envelope with null

  Scenario: Posting a booking answers 200 with the stored document, without createdon
    When I send a POST request to "/bookings" with body:
      """
      {"data":{"userid":"57b378da202bba0005a61b87","showtimeid":"57b37e39d88780000587358a","movies":["57b37b7c377dd100054f9f91"]}}
      """
    Then the response status is 200
    And the response header "content-type" is "application/json"
    And the response data has a new ObjectId
    And the response JSON at "/data/userid" is "57b378da202bba0005a61b87"
    And the response JSON at "/data/showtimeid" is "57b37e39d88780000587358a"
    And the response JSON at "/data/movies" is ["57b37b7c377dd100054f9f91"]
    And no "createdon" field appears in the response

  Scenario: A posted booking is listed, also under /bookings/ and /bookings.json
    When I send a POST request to "/bookings" with body:
      """
      {"data":{"userid":"57a98d98e4b00679b4a830af","showtimeid":"57b37e39d88780000587358b","movies":["57b37b7c377dd100054f9f92"]}}
      """
    And I remember the response's id as "booking"
    And I send a GET request to "/bookings"
    Then the response is the data envelope with a list of 1
    And the response data list contains the remembered "booking"
    When I send a GET request to "/bookings/"
    Then the response data list contains the remembered "booking"
    When I send a GET request to "/bookings.json"
    Then the response status is 200
    And the response data list contains the remembered "booking"

  Scenario: Deleting a booking answers 204, then 404
    When I send a POST request to "/bookings" with body:
      """
      {"data":{"userid":"57a98d98e4b00679b4a830af","showtimeid":"57b37e39d88780000587358b","movies":[]}}
      """
    And I remember the response's id as "booking"
    And I send a DELETE request to the bookings service at "/bookings/{booking}"
    Then the response status is 204
    And the response body is empty
    When I send a DELETE request to the bookings service at "/bookings/{booking}.json"
    Then the response status is 404
    And the response is a JSON error
    When I send a GET request to "/bookings"
    Then the response is the data envelope with null
