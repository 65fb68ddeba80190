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
  Open (@gap, run with `--tags @gap`): within its 500m the producer serves 9,600–12,200
  events/s, so 4× is 38,000–49,000/s; the load generator, unoptimised test code on the same
  two cores, offers at most about 23,000–33,000/s. The cell fails on what it can offer, not on
  the producer (at the rate it reached, every excess request got 429 + Retry-After and the
  producer stayed at 10–24 MiB); it needs a generator on cores of its own.

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
