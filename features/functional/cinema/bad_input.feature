@mongo @cinema
Feature: Bad input gets a clear 4xx JSON error and stores nothing
  The original panicked into a 500 on every bad input. Here malformed JSON and wrong types are
  400, a path id that is not an ObjectId is 400, an unknown id or date is 404, a wrong method is
  405 with Allow, an unknown path is 404, an oversized body is 413: all with
  {"error":{"code":..,"message":..}}, and the collection is unchanged.

  Scenario Outline: A malformed or mistyped <service> body is a 400 (<case>)
    Given the <service> service on a fresh database
    When I send a POST request to "/<service>" with body:
      """
      <body>
      """
    Then the response status is 400
    And the response is a JSON error
    When I send a GET request to "/<service>"
    Then the response is the data envelope with null

    Examples:
      | service   | case                  | body                                       |
      | movies    | empty body            |                                            |
      | movies    | malformed JSON        | {"data":{"title":                          |
      | movies    | not JSON at all       | not json                                   |
      | movies    | a JSON array          | []                                         |
      | movies    | data is a list        | {"data":[]}                                |
      | movies    | title is a number     | {"data":{"title":5}}                       |
      | movies    | rating is a number    | {"data":{"rating":8.0}}                    |
      | movies    | id is not an ObjectId | {"data":{"id":"not-an-object-id"}}         |
      | movies    | createdon is not time | {"data":{"createdon":"yesterday"}}         |
      | showtimes | malformed JSON        | {"data":                                   |
      | showtimes | movies is a string    | {"data":{"date":"2016-08-15","movies":"x"}} |
      | showtimes | date is a number      | {"data":{"date":20160815}}                 |
      | bookings  | malformed JSON        | {bad                                       |
      | bookings  | userid is a number    | {"data":{"userid":7}}                      |
      | bookings  | movies holds numbers  | {"data":{"movies":[1,2]}}                  |
      | users     | malformed JSON        | {"data":{"name":"x"                        |
      | users     | name is an object     | {"data":{"name":{"first":"x"}}}            |
      | users     | lastname is a boolean | {"data":{"lastname":true}}                 |

  Scenario Outline: A path id that is not an ObjectId is a 400 (<method> <path>)
    Given the <service> service on a fresh database with the seed data
    When I send a <method> request to "<path>"
    Then the response status is 400
    And the response is a JSON error

    Examples:
      | service   | method | path                                  |
      | movies    | GET    | /movies/abc                           |
      | movies    | GET    | /movies/57b37b7c377dd100054f9f9z      |
      | movies    | GET    | /movies/57b37b7c377dd100054f9f91aa    |
      | movies    | DELETE | /movies/abc                           |
      | showtimes | DELETE | /showtimes/2016-08-15                 |
      | bookings  | DELETE | /bookings/xyz                         |
      | users     | DELETE | /users/0                              |

  Scenario Outline: An unknown id is a 404 (<method> <path>)
    Given the <service> service on a fresh database with the seed data
    When I send a <method> request to "<path>"
    Then the response status is 404
    And the response is a JSON error

    Examples:
      | service   | method | path                                |
      | movies    | GET    | /movies/5c3d9b2e8f1a4b0001a1b2c3    |
      | movies    | DELETE | /movies/5c3d9b2e8f1a4b0001a1b2c3    |
      | showtimes | DELETE | /showtimes/5c3d9b2e8f1a4b0001a1b2c3 |
      | showtimes | GET    | /showtimes/1999-12-31               |
      | bookings  | DELETE | /bookings/5c3d9b2e8f1a4b0001a1b2c3  |
      | users     | DELETE | /users/5c3d9b2e8f1a4b0001a1b2c3     |

  Scenario Outline: A wrong method is a 405 with Allow (<method> <path>)
    Given the <service> service on a fresh database
    When I send a <method> request to "<path>"
    Then the response status is 405
    And the response header "allow" is "<allow>"
    And the response is a JSON error

    Examples:
      | service   | method | path                                | allow       |
      | movies    | PUT    | /movies                             | GET, POST   |
      | movies    | DELETE | /movies/                            | GET, POST   |
      | movies    | PUT    | /movies/57b37b7c377dd100054f9f91    | GET, DELETE |
      | movies    | POST   | /movies/57b37b7c377dd100054f9f91    | GET, DELETE |
      | showtimes | PATCH  | /showtimes                          | GET, POST   |
      | showtimes | PUT    | /showtimes/2016-08-15               | GET, DELETE |
      | bookings  | GET    | /bookings/57b37f50d88780000587358e  | DELETE      |
      | bookings  | PUT    | /bookings                           | GET, POST   |
      | users     | GET    | /users/57a98d98e4b00679b4a830af     | DELETE      |
      | users     | DELETE | /users                              | GET, POST   |

  Scenario Outline: An unknown path is a 404 JSON error (<service> <path>)
    Given the <service> service on a fresh database
    When I send a GET request to "<path>"
    Then the response status is 404
    And the response is a JSON error
    And the response has a header "x-request-id"

    Examples:
      | service   | path            |
      | movies    | /               |
      | movies    | /nope           |
      | movies    | /movies/a/b     |
      | movies    | /showtimes      |
      | showtimes | /movies         |
      | bookings  | /users          |
      | users     | /users/a/b/c    |

  Scenario Outline: A body over the size limit is a 413 and stores nothing (<service>)
    Given the <service> service on a fresh database
    When I send a POST request to "/<service>" with a JSON body of 2097152 bytes
    Then the response status is 413
    And the response is a JSON error
    When I send a GET request to "/<service>"
    Then the response is the data envelope with null

    Examples:
      | service   |
      | movies    |
      | showtimes |
      | bookings  |
      | users     |
