@mongo @cinema @network @chaos
Feature: The cinema services when the link to MongoDB slices or throttles their answers
  The movies service reaches MongoDB through a fault proxy of the scenario's own. Answers cut
  into 16-byte pieces, or throttled to 64 KB/s, still arrive whole. (A MongoDB that is slow, cut,
  stops passing data or resets its connections, and the users service's links to the other
  services failing, are cells of the fault matrix: features/robustness/movies/store.feature and
  features/robustness/suggestions/store.feature.)

  Scenario: MongoDB's answers sliced into 16-byte pieces, then throttled: movies still answers whole
    Given movies reaches MongoDB through a fault proxy
    And the movies service on a fresh database with the seed data
    When the link slices its answers into 16-byte pieces
    And I send a GET request to the movies service at "/movies"
    Then the response status is 200
    And the response is the data envelope with a list of 4
    When the link is throttled to 64 KB/s
    And I send a GET request to the movies service at "/movies"
    Then the response status is 200
    And the response is the data envelope with a list of 4
    And the response came within 3000 ms
