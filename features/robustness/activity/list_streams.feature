@mysql @activity @robustness
Feature: ListEvents streams are bounded in number and in how long they wait for their reader
  Each ListEvents stream reads the store page by page into a bounded buffer. A client that opens
  a stream and never reads it would hold that reader (and its slot) for ever: the server ends a
  stream whose client takes no event for `limits.stream_send_timeout` (30 s by default, 2 s
  here) with DEADLINE_EXCEEDED, and refuses streams beyond `limits.max_list_streams` (32 by
  default, 2 here) with RESOURCE_EXHAUSTED instead of queueing them.

  Background:
    Given the activity server is running on a fresh database with at most 2 ListEvents streams and a 2 s send timeout
    And deployment 7 has 150 events of 4000 characters

  Scenario: An unread stream is ended by the server after its send timeout
    When I open 1 ListEvents stream for deployment 7 and read nothing
    And 4 s pass
    Then reading the first unread stream gives fewer than 150 events and then DEADLINE_EXCEEDED mentioning "read nothing"
    When I list the events of deployment 7
    Then 150 events are listed

  Scenario: Streams beyond the bound are refused with RESOURCE_EXHAUSTED until the unread ones end
    When I open 2 ListEvents streams for deployment 7 and read nothing
    And I list the events of deployment 7
    Then listing deployment 7 fails with RESOURCE_EXHAUSTED mentioning "too many ListEvents streams"
    When 4 s pass
    And I list the events of deployment 7
    Then 150 events are listed
