@mysql @activity
Feature: Bad input is INVALID_ARGUMENT and the server keeps serving
  The original crashed on a CreateEvent without a timestamp. Here every malformed request is
  answered with INVALID_ARGUMENT and a message that says what is wrong, and nothing is stored.

  Background:
    Given the activity server is running on a fresh database

  Scenario: A CreateEvent without a timestamp is refused, and the server keeps serving
    When I create event 1 for deployment 1 with message "no clock" and no timestamp
    Then the call fails with INVALID_ARGUMENT mentioning "timestamp"
    When I create event 2 for deployment 1 with message "still here"
    Then the event is accepted with id 2
    When I list the events of deployment 1
    Then the listed event ids are "2"

  Scenario Outline: Invalid events are refused (<case>)
    When I create event <id> for deployment <deployment> with message "<message>"
    Then the call fails with INVALID_ARGUMENT mentioning "<mentions>"
    When I list the events of deployment 0
    Then no events are listed

    Examples:
      | case                 | id | deployment | message | mentions      |
      | negative deployment  | 1  | -1         | hello   | deployment    |
      | zero id              | 0  | 1          | hello   | id            |
      | negative id          | -5 | 1          | hello   | id            |
      | empty message        | 3  | 1          |         | message       |

  Scenario: A message over the limit is refused
    When I create event 4 for deployment 1 with a message of 5000 characters
    Then the call fails with INVALID_ARGUMENT mentioning "message"

  Scenario: Listing a negative deployment is refused
    When I list the events of deployment -1
    Then listing deployment -1 fails with INVALID_ARGUMENT

  Scenario: Bytes that are no protobuf message are INVALID_ARGUMENT, and the server keeps serving
    When I send bytes that are not an EventRequest to CreateEvent
    Then the call fails with INVALID_ARGUMENT mentioning "not valid protobuf"
    When I create event 5 for deployment 1 with message "still serving"
    Then the event is accepted with id 5
