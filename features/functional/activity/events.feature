@mysql @activity
Feature: Create and list activity events over gRPC
  CreateEvent stores an event and answers its id, success and the transit time in ms; ListEvents
  streams a deployment's events in the order they arrived, and deployment 0 streams them all.
  Events live in MySQL, so they survive a restart of the server.

  Background:
    Given the activity server is running on a fresh database

  Scenario: An event is created and listed with its timestamps
    When I create event 1 for deployment 1 with message "Deployment has been created successfully"
    Then the event is accepted with id 1
    When I list the events of deployment 1
    Then the listed event ids are "1"
    And listed event 1 has message "Deployment has been created successfully" and deployment 1
    And every listed event carries its send and receive times

  Scenario: Events are listed per deployment in insertion order, and deployment 0 lists all
    When I create event 30 for deployment 2 with message "third"
    And I create event 10 for deployment 1 with message "first"
    And I create event 20 for deployment 2 with message "second"
    And I list the events of deployment 2
    Then the listed event ids are "30, 20"
    When I list the events of deployment 0
    Then the listed event ids are "30, 10, 20"

  Scenario: A deployment without events lists nothing
    When I list the events of deployment 77
    Then no events are listed

  Scenario: Events survive a restart of the server
    When I create event 5 for deployment 3 with message "before the restart"
    And the activity server restarts
    And I list the events of deployment 3
    Then the listed event ids are "5"
    And listed event 5 has message "before the restart" and deployment 3
