@mysql @activity
Feature: An event is stored once
  The original saved every duplicate (its own known issue). Here an event's deployment and id
  are the idempotency key: the same event again is answered with success and not stored twice,
  a different event under a used deployment and id is refused, and concurrent senders cannot
  race a duplicate in (see event_keys.feature for deployments and re-sends).

  Background:
    Given the activity server is running on a fresh database

  Scenario: The same event sent twice is stored once
    When I create event 7 for deployment 1 with message "retry me"
    Then the event is accepted with id 7
    When I send the same event again
    Then the event is accepted with id 7
    When I list the events of deployment 1
    Then the listed event ids are "7"

  Scenario: A different event under a used id is refused
    When I create event 8 for deployment 1 with message "original"
    And I create event 8 for deployment 1 with message "impostor"
    Then the call fails with ALREADY_EXISTS mentioning "8"
    When I list the events of deployment 1
    Then the listed event ids are "8"
    And listed event 8 has message "original" and deployment 1

  Scenario: Twenty clients sending the same event at once store it once
    When 20 clients create event 9 for deployment 4 with message "thundering herd" at once
    Then the event is accepted with id 9
    When I list the events of deployment 4
    Then the listed event ids are "9"
