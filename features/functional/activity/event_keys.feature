@mysql @activity
Feature: An event is identified by its deployment and id, and a re-sent event is the same event
  Deployments number their events independently, as the original's README does ("created with
  id [1] for deployment_id [1]"): an event is identified by (deployment_id, id). The same
  deployment, id and message is the same event whatever its send time, so a client that runs
  again, or retries, succeeds: the event is stored once and the answer is the first call's,
  execution time included. Another message under a used deployment and id is ALREADY_EXISTS.

  Background:
    Given the activity server is running on a fresh database

  Scenario: Two deployments numbering events from 1
    When I create event 1 for deployment 1 with message "staging is up"
    Then the event is accepted with id 1
    When I create event 1 for deployment 2 with message "production is up"
    Then the event is accepted with id 1
    When I create event 2 for deployment 1 with message "staging is down"
    Then the event is accepted with id 2
    When I list the events of deployment 1
    Then the listed event ids are "1, 2"
    And listed event 1 of deployment 1 has message "staging is up"
    When I list the events of deployment 2
    Then the listed event ids are "1"
    And listed event 1 of deployment 2 has message "production is up"
    When I list the events of deployment 0
    Then the listed events by deployment and id are "1/1, 2/1, 1/2"

  Scenario: The same event sent again later, with a new send time, is the same event
    When I create event 3 for deployment 1 with message "deployed" sent 2 s ago
    Then the event is accepted with id 3
    And the execution time is at least 2000 ms
    When I send the same event again with a new send time
    Then the event is accepted with id 3
    And the answer is the first call's, execution time included
    When I list the events of deployment 1
    Then the listed event ids are "3"

  Scenario: Another message under a used deployment and id is refused, in that deployment only
    When I create event 1 for deployment 1 with message "original"
    And I create event 1 for deployment 1 with message "impostor"
    Then the call fails with ALREADY_EXISTS mentioning "event 1 of deployment 1"
    When I create event 1 for deployment 2 with message "impostor"
    Then the event is accepted with id 1
    When I list the events of deployment 0
    Then the listed events by deployment and id are "1/1, 2/1"
    And listed event 1 of deployment 1 has message "original"

  Scenario: The client re-run succeeds
    When I run the activity client with `-add '{"id":1,"message":"Deployment has beed created successfully","deployment_id":1}'`
    Then the client exits with status 0
    And the client prints a line starting with "An event created with id [1] for deployment_id [1] in "
    When I run the activity client with `-add '{"id":1,"message":"Deployment has beed created successfully","deployment_id":1}'`
    Then the client exits with status 0
    And the client prints what it printed on its previous run
    When I run the activity client with `-add '{"id":1,"message":"Deployment has beed created successfully","deployment_id":2}'`
    Then the client exits with status 0
    And the client prints a line starting with "An event created with id [1] for deployment_id [2] in "
    When I list the events of deployment 1
    Then the listed event ids are "1"

  Scenario: Twenty re-runs of one client at once store the event once
    When 20 clients create event 9 for deployment 4 with message "thundering herd" at once, each with its own send time
    Then every client got the same successful answer
    When I list the events of deployment 4
    Then the listed event ids are "9"
