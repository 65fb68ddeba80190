@cluster @chaos @network @cinema @serial
Feature: movies on the cluster when its connections to MongoDB are reset
  The deployed cinema services reach MongoDB through the release's fault proxy (its `mongodb`
  proxy). With every connection through it reset (TCP RST) as soon as it carries data, movies
  answers with a clean JSON error (503 with `Retry-After`) as soon as its driver gives up
  selecting a server (2 s, its server selection timeout), never a hang. Once the link heals it
  answers 200 again by itself within seconds, and the movie it stored before is intact. The
  recovery time (heal to the first 200) is printed.

  @matrix @service-movies @fault-store-reset
  Scenario: MongoDB reset under movies: a bounded clean JSON error, 200 again by itself once healed
    Given the movies service on the cluster
    And the deployed services reach their stores through the cluster's fault proxy
    When I send a POST request to the movies service at "/movies" with body:
      """
      {"data":{"title":"Memorias del subdesarrollo {run}","director":"Tomás Gutiérrez Alea","rating":"8.1"}}
      """
    Then the response status is 200
    And I remember the response's id as "movie"
    When the connection to MongoDB is reset
    And I send a GET request to the movies service at "/movies/{movie}"
    Then the response status is 503
    And the response has a header "Retry-After"
    And the response is a JSON error
    And the response came within 4000 ms
    When the link heals
    Then GET "/movies/{movie}" answers 200 again within 10 s
    When I send a GET request to the movies service at "/movies/{movie}"
    Then the response status is 200
    And the text at "/data/title" in the response JSON reads "Memorias del subdesarrollo {run}"
    And the recovery times are printed
