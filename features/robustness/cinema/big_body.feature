@mongo @cinema @robustness @serial
Feature: Big bodies cost the movies service about their size, not a JSON tree
  A POST body is decoded straight into the new movie: members other than `data` are skipped
  unread and a value of the wrong kind is refused without being kept. Before, every body became
  an untyped JSON tree first (about 32 bytes per array element): eight concurrent 1 MiB
  `[0,0,…]` bodies raised the movies service's peak memory by 103 MiB (the chart gives it
  128 MiB). The peak is read from the kernel (VmHWM of the process).

  Scenario: eight 1 MiB arrays of zeros and eight 1 MiB titles of the wrong shape at once
    Given the movies service runs as a process of its own on a fresh database
    When 8 bodies of 1 MiB shaped "zeros" are posted to "/movies" at once
    Then every one was answered 400 with the JSON error "invalid_json"
    When 8 bodies of 1 MiB shaped "title" are posted to "/movies" at once
    Then every one was answered 400 with the JSON error "invalid_json"
    And its peak memory grew by less than 48 MiB and stayed under 96 MiB
    And it still answers 200 to a POST of '{"data":{"title":"still here","rating":"1"}}' to "/movies"
