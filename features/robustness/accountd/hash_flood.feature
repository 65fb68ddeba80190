@accountd @robustness @serial
Feature: A flood of password hashes stays within accountd's memory and stores only what it accepted
  Every new user costs an argon2id hash: about 19 MiB and tens of milliseconds. accountd hashes
  at most a configured number at once, lets a bounded number wait, and answers the rest 429
  with Retry-After instead of growing without bound (before the bound, four of these bulk
  requests took it to 6.2 GB). Its peak memory is read from the kernel (VmHWM of the process),
  and afterwards every user answered 2xx must be stored and every other one must not be.

  Scenario: four bulk requests of 100 new users at once: under the chart's 128 MiB, nothing half-stored
    Given accountd runs as a process of its own on a fresh database with at most 2 password hashes at once and 8 waiting
    When 4 bulk requests of 100 new users each are sent at once
    Then accountd's peak memory stayed under 128 MiB
    And some users were answered 201 and some 429
    And every user answered 2xx is stored and every other one is not
