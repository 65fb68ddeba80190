@redis @events @robustness @serial
Feature: Big bodies cost event-producer about their size, not a JSON tree
  A body is decoded straight into the event's description: other members are skipped unread and
  a value of the wrong kind is refused without being kept. Before, every body became an untyped
  JSON tree first (about 32 bytes per array element): eight concurrent 1 MiB `[0,0,…]` bodies
  raised the producer's peak memory by 95 MiB (the chart gives it 128 MiB). A description is
  also capped (max_description_bytes, 64 KiB by default): a longer one is a 413 that names the
  limit, and never reaches Redis. The peak is read from the kernel (VmHWM of the process).

  Scenario: eight 1 MiB arrays of zeros and eight 1 MiB descriptions at once
    Given the event-producer runs as a process of its own
    When 8 bodies of 1 MiB shaped "zeros" are posted to "/event" at once
    Then every one was answered 400 with the JSON error "bad_request"
    When 8 bodies of 1 MiB shaped "description" are posted to "/event" at once
    Then every one was answered 413 with the JSON error "description_too_large"
    And its peak memory grew by less than 48 MiB and stayed under 96 MiB
    And it still answers 200 to a POST of '{"description":"still here"}' to "/event"
