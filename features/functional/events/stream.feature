@redis @events
Feature: What the producer writes to the stream
  Each accepted event is one stream entry with a single field "EventStream" holding the
  Notification Message JSON {"id": integer, "description": string, "timestamp": RFC 3339 with
  nanoseconds in UTC}. The producer creates the stream at start-up with a "CreateStream" entry,
  and trims the stream to its configured maximum length (exactly, oldest first).

  Scenario: Notifications have the documented shape, after the CreateStream marker
    Given an event producer on a fresh stream
    When I post the event "first"
    And I post the event "second"
    Then the stream starts with the "CreateStream" marker
    And the stream holds 3 entries
    And the notifications in the stream are "first, second"
    And every notification in the stream is one EventStream field holding an integer id, the description and an RFC 3339 nanosecond UTC timestamp

  Scenario: A configured maximum length trims the oldest entries
    Given an event producer on a fresh stream trimmed to 5 entries
    When I post 8 events described "trim-" followed by their number
    Then the stream holds 5 entries
    And the notifications in the stream are "trim-4, trim-5, trim-6, trim-7, trim-8"

  Scenario: Without a maximum length nothing is trimmed
    Given an event producer on a fresh stream
    When I post 8 events described "keep-" followed by their number
    Then the stream holds 9 entries
