@events @redis @robustness
Feature: event-producer under four times the events it can accept
  The capacity-defining request is POST /event, the producer's only work: decode a small JSON
  body and XADD it to Redis, so the producer's capacity is bound by its CPU and its Redis link.
  The capacity is measured in a closed loop, the unloaded p99 at a fifth of it, then events
  arrive at a fixed rate of four times the capacity: the excess must be answered 429 with
  Retry-After at once, the served requests must not queue (p99 under twice the unloaded p99
  plus 50 ms), and the producer must stay under its chart's memory limit and keep running.
  Four times a cheap request may be more than a load generator sharing the machine's cores
  can offer: the cell then fails and says how much it could offer.
  The service runs as deployed: held to its chart's CPU limit (`resources.limits.cpu`, 500m)
  by a cgroup of its own, so its capacity is its own share of the machine and the load
  generator and the stores have the rest.
  Open (@gap, run with `--tags @gap`): within its 500m the producer serves 9,400–10,500 events/s
  (about 50 µs of CPU each), and a refusal costs it about 26 µs (hyper, the middleware and the
  loopback's system calls). At 4× the refusals alone would need 1.5 times its CPU: its 500m is
  all spent (2.5 s in 5.3 s), requests queue in their sockets before the limit sees them, and
  it served 390 events/s at a p50 of 1.27 s while the lean load client, no longer the bottleneck
  (0.5 cores), could offer only 17,700 of the 42,000 a second due. Refusing for much less than a
  quarter of what serving costs (or shedding before the process) is what remains.

  @matrix @service-event-producer @fault-overload @serial @gap
  Scenario: events at four times the capacity: the excess gets 429, the served ones do not queue
    Given event-producer runs as a process of its own
    And it is held to its chart's CPU limit
    When its capacity for events is measured with 16 workers
    And its unloaded p99 is measured at a fifth of its capacity
    And events arrive at four times its capacity for 5 seconds
    Then the excess was refused with 429 and nothing else failed
    And the p99 of the served requests stayed under twice the unloaded p99 plus 50 ms
    And its resident size stayed under its chart's memory limit
    And it still runs and is ready
