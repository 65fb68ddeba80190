@mysql @activity @robustness
Feature: activity-client retries a create through a server restart
  A create is idempotent (an event is identified by its deployment and id, and the same event
  again is answered with the first call's result), so activity-client sends it again when it
  fails with UNAVAILABLE, RESOURCE_EXHAUSTED or DEADLINE_EXCEEDED: with exponential backoff and
  jitter, at most --retries times and not past --retry-for, noting each retry on stderr. A run
  that only creates connects on its first attempt, so a server that is not back yet is retried
  too.

  Background:
    Given the activity server is running on a fresh database

  Scenario: A create sent while the server restarts succeeds once it is back, stored once
    When the activity server is down for 1 s while I run the activity client with `--retries 30 --retry-delay 50ms --json -add '{"id":1,"message":"sent during a restart","deployment_id":1}'`
    Then the client exits with status 0
    And the client noted at least 1 retry of its create
    And every line the client prints is a JSON object with "retries"
    When I list the events of deployment 1
    Then the listed event ids are "1"

  Scenario: A client that runs out of retries gives up and says after how many
    When the activity server is down for 2 s while I run the activity client with `--retries 2 --retry-delay 50ms -add '{"id":2,"message":"too soon","deployment_id":1}'`
    Then the client exits with status 1
    And the client noted at least 2 retries of its create
    And the client's last error line contains "Could not create Event: rpc error: code = Unavailable"
    And the client's last error line contains "(gave up after 2 retries)"
    When I list the events of deployment 1
    Then no events are listed
