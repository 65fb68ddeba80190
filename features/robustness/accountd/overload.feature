@accountd @mysql @robustness
Feature: accountd under four times the creates it can serve
  The capacity-defining request is POST /users of a new user: each costs an argon2id hash
  (tens of milliseconds of CPU and 19 MiB), so creates are what bounds accountd, and four
  times their rate is cheap to generate on a small machine. Reads of MySQL are an order of
  magnitude cheaper and, at four times their capacity, would measure the load generator
  rather than the service.
  The service runs as deployed: held to its chart's CPU limit (`resources.limits.cpu`, 500m)
  by a cgroup of its own, so its capacity is its own share of the machine and the load
  generator and the stores have the rest.

  The capacity is measured in a closed loop, the unloaded p99 at a fifth of it, then creates
  arrive at a fixed rate of four times the capacity: the excess must be answered 429 with
  Retry-After at once, the served requests must not queue (p99 under twice the unloaded p99
  plus 50 ms), and accountd must stay under its chart's memory limit and keep running.
  Its chart gives it one hashing thread (`ACCOUNTD__HASHING__CONCURRENT`), as many as its 500m
  allow: with two, both hashes ran at half speed and every create waited for both. A single
  create waits behind at most one hash per thread (a third is refused at once), so a served
  create takes about two hashes at most: served p99 122–134 ms against bounds of 205–238 ms in
  three runs (19–21 creates/s; before, the adaptive limit let a third create queue and the p99
  sat on its bound, 158–240 ms against 154–320 ms).

  @matrix @service-accountd @fault-overload @serial
  Scenario: creates at four times the capacity: the excess gets 429, the served ones do not queue
    Given accountd runs as a process of its own
    And it is held to its chart's CPU limit
    When its capacity for creates is measured with 8 workers
    And its unloaded p99 is measured at a fifth of its capacity
    And creates arrive at four times its capacity for 5 seconds
    Then the excess was refused with 429 and nothing else failed
    And the p99 of the served requests stayed under twice the unloaded p99 plus 50 ms
    And its resident size stayed under its chart's memory limit
    And it still runs and is ready
