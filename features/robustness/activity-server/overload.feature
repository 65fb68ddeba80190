@activity @mysql @robustness
Feature: activity-server under four times the CreateEvent calls it can serve
  The capacity-defining call is CreateEvent: one validated event, one INSERT into MySQL, so
  the server's capacity is bound by its store and its CPU; ListEvents streams are long-lived
  and bounded on their own (limits.max_list_streams). The capacity is measured in a closed
  loop, the unloaded p99 at a fifth of it, then calls arrive at a fixed rate of four times the
  capacity over a few HTTP/2 connections: the excess must be refused with RESOURCE_EXHAUSTED
  at once, the served calls must not queue (p99 under twice the unloaded p99 plus 50 ms), and
  the server must stay under its chart's memory limit and keep running.
  The service runs as deployed: held to its chart's CPU limit (`resources.limits.cpu`, 500m)
  by a cgroup of its own, so its capacity is its own share of the machine and the load
  generator and the stores have the rest.
  Open (@gap, run with `--tags @gap`): it held in five runs (served p99 33–46 ms against bounds of
  55–62 ms) and missed by 0.1 ms in the sixth (58.08 against 57.97 ms; 2,286 calls/s, 39,623
  RESOURCE_EXHAUSTED against 6,000 served, 13 MiB). The server's 500m is all spent, mostly
  refusing, and the tonic client that offers 9,000 calls/s takes 4.5 s of CPU in 5 s of the
  two cores: one stall in the window decides it.

  @matrix @service-activity-server @fault-overload @serial @gap
  Scenario: CreateEvent at four times the capacity: the excess gets RESOURCE_EXHAUSTED, the served calls do not queue
    Given activity-server runs as a process of its own
    And it is held to its chart's CPU limit
    When its capacity for calls is measured with 16 workers
    And its unloaded p99 is measured at a fifth of its capacity
    And calls arrive at four times its capacity for 5 seconds
    Then the excess was refused with RESOURCE_EXHAUSTED and nothing else failed
    And the p99 of the served requests stayed under twice the unloaded p99 plus 50 ms
    And its resident size stayed under its chart's memory limit
    And it still runs and is ready
