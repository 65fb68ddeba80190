@mongo @cinema
Feature: The movies service stores, lists, reads and deletes movies
  The contract of the seed (§3.3): every body is wrapped in {"data": ...}, POST answers 200 with
  the stored document (a new ObjectId and createdon), an empty list is {"data":null}, DELETE
  answers 204 and the movie is gone. A ".json" suffix and a trailing slash route as without.

  Background:
    Given the movies service on a fresh database

  Scenario: An empty collection is listed as {"data":null}
    When I send a GET request to "/movies"
    Then the response status is 200
    And the response is the data envelope with null

  Scenario: Posting a movie answers 200 with the stored document
    When I send a POST request to "/movies" with body:
      """
      {"data":{"title":"Zootopia","director":"Byron Howard","rating":"8.0"}}
      """
    Then the response status is 200
    And the response header "content-type" is "application/json"
    And the response data has a new ObjectId
    And the response data has a recent createdon
    And the response JSON at "/data/title" is "Zootopia"
    And the response JSON at "/data/director" is "Byron Howard"
    And the response JSON at "/data/rating" is "8.0"

  Scenario: A client's id is overwritten by a new one
    When I send a POST request to "/movies" with body:
      """
      {"data":{"id":"57b37b7c377dd100054f9f91","title":"Zootopia","director":"Byron Howard","rating":"8.0"}}
      """
    Then the response status is 200
    And the response data has a new ObjectId
    And the response body does not contain "57b37b7c377dd100054f9f91"

  Scenario: A posted movie reads back by id, with or without a format suffix, and in the list
    When I send a POST request to "/movies" with body:
      """
      {"data":{"title":"Fresa y Chocolate","director":"Tomás Gutiérrez Alea","rating":"7.7"}}
      """
    And I remember the response's id as "fresa"
    And I send a GET request to the movies service at "/movies/{fresa}"
    Then the response status is 200
    And the response data is the remembered "fresa"
    When I send a GET request to the movies service at "/movies/{fresa}.json"
    Then the response status is 200
    And the response data is the remembered "fresa"
    When I send a GET request to "/movies"
    Then the response is the data envelope with a list of 1
    And the response data list contains the remembered "fresa"
    When I send a GET request to "/movies/"
    Then the response is the data envelope with a list of 1
    And the response data list contains the remembered "fresa"

  Scenario: The list keeps the order of creation
    When I send a POST request to "/movies" with body:
      """
      {"data":{"title":"El padrino","director":"Francis Ford Coppola","rating":"9.2"}}
      """
    And I send a POST request to "/movies" with body:
      """
      {"data":{"title":"Zootopia","director":"Byron Howard","rating":"8.0"}}
      """
    And I send a GET request to "/movies"
    Then the response status is 200
    And the response data "title" values are "El padrino, Zootopia"

  Scenario: A body without data creates an empty movie, as the original did
    When I send a POST request to "/movies" with body:
      """
      {}
      """
    Then the response status is 200
    And the response data has a new ObjectId
    And the response JSON at "/data/title" is ""
    And the response JSON at "/data/rating" is ""

  Scenario: Deleting a movie answers 204, then 404, and the movie is gone
    When I send a POST request to "/movies" with body:
      """
      {"data":{"title":"Zootopia","director":"Byron Howard","rating":"8.0"}}
      """
    And I remember the response's id as "zootopia"
    And I send a DELETE request to the movies service at "/movies/{zootopia}"
    Then the response status is 204
    And the response body is empty
    When I send a DELETE request to the movies service at "/movies/{zootopia}"
    Then the response status is 404
    And the response is a JSON error
    When I send a GET request to the movies service at "/movies/{zootopia}"
    Then the response status is 404
    And the response is a JSON error
    When I send a GET request to "/movies"
    Then the response is the data envelope with null
