@redis @events @retries
Feature: An event posted with an Idempotency-Key and retried after a lost answer is processed once
  The producer appends a keyed event and records its key in one Redis script, and the event's id
  follows from the key. A client whose answer is lost (its connection closes as the answer
  starts: Redis already holds the event) retries with the same key and is told the event was
  accepted (`Idempotent-Replayed: true`) without a second entry; the consumers process it once.
  The same key for another event is a 422 and appends nothing.

  Scenario: The answer to a keyed POST /event is lost; the retry is accepted and the event processed once
    Given an event producer on a fresh stream
    And a consumer "c1" on that stream
    When I send a POST request to "/event" with header "Idempotency-Key: evt-lost-1" and body, and its answer is lost:
      """
      {"description":"retried after a lost answer"}
      """
    And I send a POST request to "/event" with header "Idempotency-Key: evt-lost-1" and body:
      """
      {"description":"retried after a lost answer"}
      """
    Then the response status is 200
    And the response header "Idempotent-Replayed" is "true"
    And the event "retried after a lost answer" is processed exactly once
    When I send a POST request to "/event" with header "Idempotency-Key: evt-lost-1" and body:
      """
      {"description":"another event under the same key"}
      """
    Then the response status is 422
    And the response JSON at "/error/code" is "idempotency_key_reused"
    And the processed record holds 1 record
