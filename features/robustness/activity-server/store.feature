@activity @mysql @network @chaos
Feature: activity-server when its link to MySQL is slow, cut, half-open or reset
  activity-server reaches MySQL through a fault proxy of the scenario's own, and its calls time
  out after 1 s (`limits.request_timeout`). With MySQL slower than that, or passing no data, a
  call fails with `UNAVAILABLE` or `DEADLINE_EXCEEDED` within the timeout + 1 s, never a hang;
  with the link cut, its admin `/readyz` turns false within 2 s and calls are refused at once.
  A `CreateEvent` whose connection is reset fails cleanly and is stored whole or not at all.
  Once the link heals it answers again by itself. Each scenario is a cell of the fault matrix.

  Background:
    Given activity-server runs with its store behind a fault proxy

  @matrix @service-activity-server @fault-store-slow
  Scenario: MySQL slower than activity-server's timeout: a bounded error, fast again once healed
    When activity-server's store gets slower than its store timeout
    Then activity-server answers UNAVAILABLE or DEADLINE_EXCEEDED within its store timeout + 1 s, never a hang
    When the link heals
    Then activity-server answers fast again within 2 s of the heal

  @matrix @service-activity-server @fault-store-cut
  Scenario: The link to MySQL cut: not ready, refused at once, back by itself once healed
    When activity-server's store link is cut
    Then activity-server reports not ready within 2 s
    And activity-server refuses requests with UNAVAILABLE at once while it lasts
    When the link heals
    Then activity-server answers again within 5 s of the heal

  @matrix @service-activity-server @fault-store-half-open
  Scenario: MySQL stops passing data: a bounded error, not ready, back by itself once healed
    When activity-server's store stops passing data
    Then activity-server reports not ready within 2 s
    And activity-server answers UNAVAILABLE or DEADLINE_EXCEEDED within its store timeout + 1 s, never a hang
    When the link heals
    Then activity-server answers again within 5 s of the heal

  @matrix @service-activity-server @fault-store-reset
  Scenario: MySQL connections reset under a CreateEvent: a clean error, nothing half-written
    When activity-server's store connections are reset
    Then a write to activity-server gets UNAVAILABLE within its store timeout + 1 s
    When the link heals
    Then activity-server answers again within 2 s of the heal
    And the next 5 requests to activity-server succeed
    And the write to activity-server is stored whole or not at all
