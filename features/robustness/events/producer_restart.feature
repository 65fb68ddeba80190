@redis @chaos @events
Feature: A restarted producer carries on where the old one stopped

  Scenario: After the producer restarts, a new event is accepted and is the latest notification (Robot: Test event-producer pod deleted unexpectedly)
    Given an event producer on a fresh stream
    And a consumer "c1" on that stream
    When I post the event "before the restart"
    And the producer is restarted
    And I post the event "restated_event_producer_test"
    Then the response status is 200
    And the latest notification in the stream has description "restated_event_producer_test"
    And the stream holds 2 "CreateStream" markers
    And every accepted event is processed exactly once
