@accountd @mysql @network @chaos
Feature: accountd when its link to MySQL is slow, cut, half-open or reset
  accountd reaches MySQL through a fault proxy of the scenario's own, and its requests time out
  after 1 s (`limits.request_timeout`). With MySQL slower than that, or passing no data at all, a
  request is answered 503 with `Retry-After` and a JSON error within the timeout + 1 s, never a
  hang; with the link cut, accountd reports not ready within 2 s and refuses requests at once.
  A write whose connection is reset gets a clean error and is stored whole or not at all. Once
  the link heals accountd answers again by itself, without a restart. Each scenario is a cell
  of the fault matrix: what it measured is recorded and printed.

  Background:
    Given accountd runs with its store behind a fault proxy

  @matrix @service-accountd @fault-store-slow
  Scenario: MySQL slower than accountd's timeout: 503 with Retry-After in time, fast again once healed
    When accountd's store gets slower than its store timeout
    Then accountd answers 503 with Retry-After within its store timeout + 1 s, never a hang
    When the link heals
    Then accountd answers fast again within 2 s of the heal

  @matrix @service-accountd @fault-store-cut
  Scenario: The link to MySQL cut: not ready, refused at once, back by itself once healed
    When accountd's store link is cut
    Then accountd reports not ready within 2 s
    And accountd refuses requests with 503 with Retry-After at once while it lasts
    When the link heals
    Then accountd answers again within 5 s of the heal

  @matrix @service-accountd @fault-store-half-open
  Scenario: MySQL stops passing data: a bounded 503, not ready, back by itself once healed
    When accountd's store stops passing data
    Then accountd reports not ready within 2 s
    And accountd answers 503 with Retry-After within its store timeout + 1 s, never a hang
    When the link heals
    Then accountd answers again within 5 s of the heal

  @matrix @service-accountd @fault-store-reset
  Scenario: MySQL connections reset under a write: a clean error, nothing half-written
    When accountd's store connections are reset
    Then a write to accountd gets 503 with Retry-After within its store timeout + 1 s
    When the link heals
    Then accountd answers again within 2 s of the heal
    And the next 5 requests to accountd succeed
    And the write to accountd is stored whole or not at all
