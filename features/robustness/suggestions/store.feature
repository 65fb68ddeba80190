@cinema @mongo @network @chaos
Feature: Suggestions when the users service's links to movies, showtimes and bookings fail
  `GET /users/{id}/suggestions` calls the movies, showtimes and bookings services; the users
  service reaches each of them through a fault proxy of the scenario's own, and the whole answer
  has a budget of 2 s (`suggestions.timeout`). These links are its "store": slower than the
  budget, or passing no data, the answer is 504 within the budget + 1 s, never a hang; cut or
  reset, it is 502 at once. The users service stays ready meanwhile (its own MongoDB is fine:
  an upstream's fault is not a reason to take it out of rotation), and once the links heal its
  suggestions answer again by themselves. Each scenario is a cell of the fault matrix.

  Background:
    Given suggestions runs with its store behind a fault proxy

  @matrix @service-suggestions @fault-store-slow
  Scenario: The upstreams slower than the budget: 504 in time, fast again once healed
    When suggestions' store gets slower than its store timeout
    Then suggestions answers 504 within its store timeout + 1 s, never a hang
    When the links heal
    Then suggestions answers fast again within 2 s of the heal

  @matrix @service-suggestions @fault-store-cut
  Scenario: The links to the upstreams cut: 502 at once, still ready, back by itself once healed
    When suggestions' store link is cut
    Then suggestions refuses requests with 502 at once while it lasts
    And suggestions stays ready
    When the links heal
    Then suggestions answers again within 5 s of the heal

  @matrix @service-suggestions @fault-store-half-open
  Scenario: The upstreams stop passing data: 504 within the budget, back by itself once healed
    When suggestions' store stops passing data
    Then suggestions answers 504 within its store timeout + 1 s, never a hang
    And suggestions stays ready
    When the links heal
    Then suggestions answers again within 5 s of the heal

  @matrix @service-suggestions @fault-store-reset
  Scenario: The upstream connections reset: a clean 502, then the next ones succeed
    When suggestions' store connections are reset
    Then suggestions answers 502 within its store timeout + 1 s, never a hang
    When the links heal
    Then suggestions answers again within 2 s of the heal
    And the next 5 requests to suggestions succeed
