@cinema @mongo @robustness
Feature: the users service's suggestions under SIGTERM and SIGKILL while requests flow
  suggestions runs as a process of its own. The load is an open model (a fixed arrival rate) of
  GET /users/<a seed user>/suggestions (movies, showtimes and bookings run in-process; the users
  service is the process).

  SIGTERM: /readyz must answer 503 first, while the process is still up and serving (detect; it
  runs with a lame-duck period of 1 s, MOCKVIDEO_SHUTDOWN_DELAY);
  every request sent before the signal and accepted must succeed (one shed at once with 429 was
  not accepted); the process must exit 0 within the lame-duck period plus
  its `limits.request_timeout` (10 s), the cinema services' drain deadline.

  SIGKILL, restarted at once: recover is the restart → the first answered request, and the
  answer after the restart must be the one before, byte for byte (it has no writes to lose).

  Background:
    Given suggestions runs as a process of its own

  @matrix @service-suggestions @fault-sigterm @serial
  Scenario: SIGTERM under load: unready first, every request sent before it succeeds, exit 0 in time
    When it gets SIGTERM under a steady load of 100 reads a second
    Then it turned unready first, every request sent before SIGTERM succeeded and it exited 0 within its drain deadline

  @matrix @service-suggestions @fault-sigkill @serial
  Scenario: SIGKILL under load, restarted: the same answers after the restart
    When it is SIGKILLed under a steady load of 100 reads a second, and restarted
    Then its answer after the restart is the one before
