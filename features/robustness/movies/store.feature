@cinema @mongo @network @chaos
Feature: movies (the cinema services' shared code) when its link to MongoDB is slow, cut, half-open or reset
  The movies service stands for the four cinema services, which share their store code. It
  reaches MongoDB through a fault proxy of the scenario's own; its store operations time out
  after 3 s (`mongo.operation_timeout`). With MongoDB slower than that, or passing no data, a
  request is answered 503 with `Retry-After` within the timeout + 1 s, never a hang; with the
  link cut, it reports not ready within 2 s and refuses requests at once. A write whose
  connection is reset gets a clean error and is stored whole or not at all. Once the link heals
  it answers again by itself. Each scenario is a cell of the fault matrix.

  Background:
    Given movies runs with its store behind a fault proxy

  @matrix @service-movies @fault-store-slow
  Scenario: MongoDB slower than the operation timeout: 503 with Retry-After in time, fast again once healed
    When movies' store gets slower than its store timeout
    Then movies answers 503 with Retry-After within its store timeout + 1 s, never a hang
    When the link heals
    Then movies answers fast again within 2 s of the heal

  @matrix @service-movies @fault-store-cut
  Scenario: The link to MongoDB cut: not ready, refused at once, back by itself once healed
    When movies' store link is cut
    Then movies reports not ready within 2 s
    And movies refuses requests with 503 with Retry-After at once while it lasts
    When the link heals
    Then movies answers again within 5 s of the heal

  @matrix @service-movies @fault-store-half-open
  Scenario: MongoDB stops passing data: a bounded 503, not ready, back by itself once healed
    When movies' store stops passing data
    Then movies reports not ready within 2 s
    And movies answers 503 with Retry-After within its store timeout + 1 s, never a hang
    When the link heals
    Then movies answers again within 5 s of the heal

  @matrix @service-movies @fault-store-reset
  Scenario: MongoDB connections reset under a write: a clean error, nothing half-written
    When movies' store connections are reset
    Then a write to movies gets 503 with Retry-After within its store timeout + 1 s
    When the link heals
    Then movies answers again within 2 s of the heal
    And the next 5 requests to movies succeed
    And the write to movies is stored whole or not at all
