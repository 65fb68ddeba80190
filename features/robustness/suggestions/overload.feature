@cinema @mongo @robustness
Feature: the users service's suggestions under four times the load they can serve
  The capacity-defining request is GET /users/{id}/suggestions of a seed user: the users
  service reads the user, then asks movies, showtimes and bookings over HTTP and joins their
  answers, so its capacity is bound by its upstreams (which run in the test's process, next
  to the load generator) and by MongoDB. The capacity is measured in a closed loop, the
  unloaded p99 at a fifth of it, then suggestions are asked at a fixed rate of four times the
  capacity: the excess must be answered 429 with Retry-After at once, the served requests must
  not queue (p99 under twice the unloaded p99 plus 50 ms), and the users service must stay
  under its chart's memory limit and keep running.
  The service runs as deployed: held to its chart's CPU limit (`resources.limits.cpu`, 500m)
  by a cgroup of its own, so its capacity is its own share of the machine and the load
  generator and the stores have the rest.
  Its chart sets the floor of the adaptive concurrency limit to 8 (`USERS__LIMITS__MIN_CONCURRENCY`):
  at about 500 suggestions a second, the default floor of 16 in flight queued each served one
  behind 30 ms of others (served p99 56–76 ms against bounds of 60–85 ms); with 8, 51 ms
  against 66–71 ms.

  @matrix @service-suggestions @fault-overload @serial
  Scenario: suggestions at four times the capacity: the excess gets 429, the served ones do not queue
    Given suggestions runs as a process of its own
    And it is held to its chart's CPU limit
    When its capacity for suggestions is measured with 16 workers
    And its unloaded p99 is measured at a fifth of its capacity
    And suggestions arrive at four times its capacity for 5 seconds
    Then the excess was refused with 429 and nothing else failed
    And the p99 of the served requests stayed under twice the unloaded p99 plus 50 ms
    And its resident size stayed under its chart's memory limit
    And it still runs and is ready
