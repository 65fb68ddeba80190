@redis @events
Feature: The consumer processes each accepted event exactly once
  Consumers of the group "demo_consumer_group" read their own pending entries first, acknowledge
  an entry only after processing it, and record what they processed (one record per event id).
  A notification id seen before is acknowledged without being processed again. An entry that
  cannot be processed is retried and, after the configured number of deliveries, moved to the
  dead-letter stream "<stream>:dead" instead of being acknowledged silently. Entries left pending
  by a consumer that died are claimed by a live one. What every group has read and acknowledged
  is trimmed from the stream.

  Scenario: An accepted event is processed once, by the consumer that read it
    Given an event producer on a fresh stream
    And a consumer "c1" on that stream
    When I post the event "processed once"
    Then the event "processed once" is processed exactly once
    And consumer "c1" processed "processed once" from the stream entry holding it
    And the processed record holds 1 record

  Scenario: Two consumers of the group share the events without processing any twice
    Given an event producer on a fresh stream
    And a consumer "c1" on that stream
    And a consumer "c2" on that stream
    When 200 events flow through the producer
    Then every accepted event is processed exactly once
    And the processed record holds 200 records

  Scenario: A notification id delivered twice is processed once
    Given an event producer on a fresh stream
    And a consumer "c1" on that stream
    When a notification with id 4242 and description "sent twice" is added to the stream twice
    Then the event "sent twice" is processed exactly once
    And consumer "c1"'s metric "events_duplicates_total" is at least 1

  Scenario Outline: An entry that cannot be processed goes to the dead-letter stream: <case>
    Given an event producer on a fresh stream
    And a consumer "c1" on that stream that dead-letters after 3 deliveries
    When <poison>
    And I post the event "after the poison"
    Then the dead-letter stream holds that entry with its fields and a reason
    And the event "after the poison" is processed exactly once
    And the processed record holds 1 record
    And consumer "c1"'s metric "events_dead_lettered_total" is at least 1

    Examples:
      | case                   | poison                                                                |
      | no EventStream field   | an entry without an EventStream field is added to the stream          |
      | undecodable JSON       | an entry whose EventStream is not a notification is added to the stream |

  Scenario: Entries left pending by a dead consumer are claimed by a live one
    Given an event producer on a fresh stream
    When I post the event "orphan one"
    And I post the event "orphan two"
    And a consumer "ghost" of the group reads every entry and dies without acknowledging
    And a consumer "rescuer" starts on that stream
    Then the event "orphan one" is processed exactly once
    And the event "orphan two" is processed exactly once
    And consumer "rescuer" processed "orphan one" from the stream entry holding it
    And consumer "rescuer"'s metric "events_claimed_total" is at least 2
    And the dead-letter stream is empty

  Scenario: A consumer creates its group, and the stream, when the stream does not exist yet
    Given a fresh stream on the suite's Redis
    And the stream does not exist
    When a consumer "early" starts on that stream
    Then the stream exists with the consumer group "demo_consumer_group"

  Scenario: Entries every group has acknowledged are trimmed from the stream
    Given consumers that trim the stream every "200ms"
    And an event producer on a fresh stream
    And a consumer "c1" on that stream
    When 50 events flow through the producer
    Then every accepted event is processed exactly once
    And the stream is trimmed to nothing
    And consumer "c1"'s metric "events_stream_trimmed_total" is at least 50
