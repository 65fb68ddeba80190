@events @redis @robustness
Feature: event-consumer under SIGTERM and SIGKILL while requests flow
  event-consumer runs as a process of its own. The load is an open model (a fixed arrival rate) of
  events posted to an in-process producer; the consumer (group `demo_consumer_group` on a stream
  of its own) is the process.

  SIGTERM: /readyz must answer 503 first, while the process is still up and serving (detect; it
  runs with a lame-duck period of 1 s, MOCKVIDEO_SHUTDOWN_DELAY);
  every request sent before the signal and accepted must succeed (one shed at once with 429 was
  not accepted); the process must exit 0 within the lame-duck period plus
  the platform's default drain deadline (10 s; the consumer finishes the batch in hand).

  SIGKILL mid-flow, restarted at once: every event the producer accepted must be processed
  exactly once (lost, applied twice), and acknowledged.

  Background:
    Given event-consumer runs as a process of its own

  @matrix @service-event-consumer @fault-sigterm @serial
  Scenario: SIGTERM under load: unready first, every request sent before it succeeds, exit 0 in time
    When it gets SIGTERM under a steady load of 200 events a second
    Then it turned unready first, every request sent before SIGTERM succeeded and it exited 0 within its drain deadline

  @matrix @service-event-consumer @fault-sigkill @serial
  Scenario: SIGKILL under load, restarted: every accepted event processed exactly once
    When it is SIGKILLed under a steady load of 200 events a second, and restarted
    Then nothing it acknowledged was lost
