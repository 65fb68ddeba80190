@redis @events
Feature: The harness gives each scenario a live producer on a stream of its own
  Port of the Robot suite's "Test Sample" (case 1). That case only checked that the test library
  loaded ("Sample Test" returned "Hello World"); its meaningful counterpart here checks the test
  set-up itself: the producer the harness started answers on loopback, is live and ready, and
  has created the scenario's own stream on the shared Redis.

  Scenario: The producer started for a scenario is live, ready and has created its stream
    Given an event producer on a fresh stream
    When I send a GET request to "/livez"
    Then the response status is 200
    And the producer reports ready
    And the stream starts with the "CreateStream" marker
