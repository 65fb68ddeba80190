@mongo @cinema @serial @slow
Feature: A cinema service recovers by itself after MongoDB restarts
  The original dialled MongoDB once at start-up. Here readiness turns false while the database
  is down, comes back by itself once the database answers again, and the data is kept. Each
  scenario restarts a MongoDB server of its own, never the suite's shared one. (A restart is
  over too quickly to watch readiness reliably; the stop/start scenario checks that it is false
  meanwhile.)

  Scenario: The movies service serves the same data after MongoDB restarts
    Given the movies service on a MongoDB server of its own with the seed data
    When I send a POST request to "/movies" with body:
      """
      {"data":{"title":"Memorias del subdesarrollo","director":"Tomás Gutiérrez Alea","rating":"8.0"}}
      """
    Then the response status is 200
    When I remember the response's id as "memorias"
    And MongoDB is restarted
    Then the service is ready again
    When I send a GET request to the movies service at "/movies/{memorias}"
    Then the response status is 200
    And the response data is the remembered "memorias"
    When I send a GET request to "/movies"
    Then the response is the data envelope with a list of 5
    When I send a POST request to "/movies" with body:
      """
      {"data":{"title":"Lucía","director":"Humberto Solás","rating":"7.5"}}
      """
    Then the response status is 200
    When I send a GET request to "/healthz"
    Then the response status is 200

  Scenario: While MongoDB is down, requests get 503 with Retry-After, and service resumes after
    Given the movies service on a MongoDB server of its own with the seed data
    When MongoDB is stopped
    Then the service is not ready
    When I send a GET request to "/movies"
    Then the response status is 503
    And the response has a header "retry-after"
    And the response is a JSON error
    When I send a GET request to "/healthz"
    Then the response status is 200
    When MongoDB is started again
    Then the service is ready again
    When I send a GET request to "/movies/57b37b7c377dd100054f9f92"
    Then the response status is 200
    And the response JSON at "/data/title" is "Zootopia"
    When I send a GET request to "/movies"
    Then the response is the data envelope with a list of 4
