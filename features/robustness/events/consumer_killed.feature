@redis @chaos @events @serial
Feature: A consumer killed at random moments loses nothing and repeats nothing
  Two event-consumer processes of the same group share the stream. One of them is SIGKILLed at
  random moments (at most 10 times, 100 to 800 ms apart) and started again each time, while
  10,000 events flow through the producer. A kill can land after a batch was read and before
  it was applied: those entries stay pending and must be applied later, by the restarted
  consumer (its own pending entries first) or by the survivor (XAUTOCLAIM), and exactly once.
  Applying and acknowledging must never come apart. Counts come from the processed record,
  checked against the events the producer answered 200 for, not from the consumers' own
  counters; at the end nothing may be left pending in the group. Both consumers trim the stream
  every 500 ms meanwhile, so a trim never takes an entry a killed consumer left pending.

  Scenario: 10,000 events, one consumer SIGKILLed repeatedly: every accepted event processed exactly once
    Given consumers that trim the stream every "500ms"
    And an event producer on a fresh stream
    And consumer processes "killed" and "survivor" on that stream
    When 10000 events flow through the producer while consumer "killed" is SIGKILLed at random moments
    Then every accepted event is processed exactly once
