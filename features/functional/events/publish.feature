@redis @events
Feature: Publish an event
  POST /event with an Event Message {"description": "..."} answers 200 with an empty body and no
  Content-Type, and appends one Notification Message to the stream. Decoding is lenient, as in
  the original: unknown keys are ignored, {} and null publish an empty description.

  Background:
    Given an event producer on a fresh stream

  Scenario: An event is accepted with an empty answer (Robot: Test event api endpoint)
    When I post the event "hello world"
    Then the response status is 200
    And the response body is empty
    And the response has no header "Content-Type"

  Scenario: The accepted event is the latest notification in the stream (Robot: Test read notification message from redis stream)
    When I post the event "test_case_running"
    Then the response status is 200
    And the latest notification in the stream has description "test_case_running"

  Scenario Outline: Lenient bodies are accepted: <case>
    When I post the raw body '<body>'
    Then the response status is 200
    And the response body is empty
    And the latest notification in the stream has description "<description>"

    Examples:
      | case               | body                                          | description |
      | empty object       | {}                                            |             |
      | null               | null                                          |             |
      | unknown keys       | {"description":"with extras","priority":5}    | with extras |
      | only unknown keys  | {"title":"no description"}                    |             |
