@activity @mysql @robustness
Feature: activity-server under SIGTERM and SIGKILL while requests flow
  activity-server runs as a process of its own. The load is an open model (a fixed arrival rate) of
  gRPC ListEvents of one deployment and, one in two, CreateEvent.

  SIGTERM: /readyz must answer 503 first, while the process is still up and serving (detect; it
  runs with a lame-duck period of 1 s, MOCKVIDEO_SHUTDOWN_DELAY);
  every request sent before the signal and accepted must succeed (one shed at once with 429 was
  not accepted); the process must exit 0 within the lame-duck period plus
  its `limits.drain_deadline` (10 s).

  SIGKILL, restarted at once: recover is the restart → the first acknowledged write, and every
  write acknowledged (2xx / OK) before or after the kill must read back afterwards (lost).

  Background:
    Given activity-server runs as a process of its own

  @matrix @service-activity-server @fault-sigterm @serial
  Scenario: SIGTERM under load: unready first, every request sent before it succeeds, exit 0 in time
    When it gets SIGTERM under a steady load of 200 requests a second, one in 2 a write
    Then it turned unready first, every request sent before SIGTERM succeeded and it exited 0 within its drain deadline

  @matrix @service-activity-server @fault-sigkill @serial
  Scenario: SIGKILL under load, restarted: nothing acknowledged is lost
    When it is SIGKILLed under a steady load of 100 writes a second, and restarted
    Then nothing it acknowledged was lost
