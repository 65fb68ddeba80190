@mongo @cinema @retries
Feature: The cinema services' writes retried with an Idempotency-Key are applied once
  A client whose answer is lost (its connection closes as the answer starts: the service did the
  work, the client never heard of it) retries with the same Idempotency-Key and gets the
  original answer, marked `Idempotent-Replayed: true`, without the service executing it again.
  The key is kept with the answer in the service's MongoDB (`idempotency_keys`). A POST with a
  key stores its document under an id that follows from the key, so a retry finds the document
  even when no answer was kept: when the service died between storing the document and keeping
  the answer, or when MongoDB's answer to the insert was lost and the service answered 503 though
  the document was stored (a key the service could not release then stays taken, 409 with
  `Retry-After`, until its lease runs out). The same key for a different request is a 422; a
  request without the header behaves as before.

  Scenario: A create whose answer was lost, retried with its key, stores one movie
    Given the movies service on a fresh database
    When I send a POST request to "/movies" with header "Idempotency-Key: create-once" and body, and its answer is lost:
      """
      {"data":{"title":"Zootopia","director":"Byron Howard","rating":"8.0"}}
      """
    Then the movies service kept an answer 200 for the key "create-once"
    When I send a POST request to "/movies" with header "Idempotency-Key: create-once" and body:
      """
      {"data":{"title":"Zootopia","director":"Byron Howard","rating":"8.0"}}
      """
    Then the response status is 200
    And the response header "Idempotent-Replayed" is "true"
    And the response JSON at "/data/title" is "Zootopia"
    And the movies collection holds 1 document

  Scenario: A delete whose answer was lost, retried with its key, answers 204 again, not 404
    Given the showtimes service on a fresh database with the seed data
    When I send a DELETE request to "/showtimes/57b37e39d88780000587358a" with header "Idempotency-Key: delete-once" and body, and its answer is lost:
      """
      """
    And I send a DELETE request to "/showtimes/57b37e39d88780000587358a" with header "Idempotency-Key: delete-once" and body:
      """
      """
    Then the response status is 204
    And the response header "Idempotent-Replayed" is "true"
    And the showtimes collection holds 3 documents

  Scenario: A create whose kept answer is gone finds the document its key named
    Given the users service on a fresh database
    When I send a POST request to "/users" with header "Idempotency-Key: stored-not-answered" and body:
      """
      {"data":{"name":"Ada","lastname":"Lovelace"}}
      """
    Then the response status is 200
    And I remember the response's id as "ada"
    When the users service loses the answer it kept for the key "stored-not-answered"
    And I send a POST request to "/users" with header "Idempotency-Key: stored-not-answered" and body:
      """
      {"data":{"name":"Ada","lastname":"Lovelace"}}
      """
    Then the response status is 200
    And the response has no header "Idempotent-Replayed"
    And the response data is the remembered "ada"
    And the users collection holds 1 document
    When the users service loses the answer it kept for the key "stored-not-answered"
    And I send a POST request to "/users" with header "Idempotency-Key: stored-not-answered" and body:
      """
      {"data":{"name":"Grace","lastname":"Hopper"}}
      """
    Then the response status is 422
    And the response JSON at "/error/code" is "idempotency_key_reused"
    And the users collection holds 1 document

  @network
  Scenario: An insert stored but whose answer was lost: 503, then the retry with its key finds it
    Given movies reaches MongoDB through a fault proxy
    And the movies service on a fresh database with idempotency leases of 5 s
    When I send a POST request to the movies service at "/movies" with header "Idempotency-Key: stored-then-503" and body, and MongoDB's answer to the insert is lost:
      """
      {"data":{"title":"Alien","director":"Ridley Scott","rating":"8.5"}}
      """
    Then the response status is 503
    And the response has a header "Retry-After"
    And the movies collection holds 1 document
    When I send a POST request to the movies service at "/movies" with header "Idempotency-Key: stored-then-503" and body, again while it answers 409 or 503, for at most 15 s:
      """
      {"data":{"title":"Alien","director":"Ridley Scott","rating":"8.5"}}
      """
    Then the response status is 200
    And the response has no header "Idempotent-Replayed"
    And the response JSON at "/data/title" is "Alien"
    And the movies collection holds 1 document

  Scenario: The same key for a different request is refused and changes nothing
    Given the bookings service on a fresh database
    When I send a POST request to "/bookings" with header "Idempotency-Key: one-request" and body:
      """
      {"data":{"userid":"u1","showtimeid":"s1","movies":["m1"]}}
      """
    Then the response status is 200
    When I send a POST request to "/bookings" with header "Idempotency-Key: one-request" and body:
      """
      {"data":{"userid":"u2","showtimeid":"s1","movies":["m1"]}}
      """
    Then the response status is 422
    And the response JSON at "/error/code" is "idempotency_key_reused"
    And the bookings collection holds 1 document

  Scenario: Creates without a key each store a document, as before
    Given the bookings service on a fresh database
    When I send a POST request to "/bookings" with body:
      """
      {"data":{"userid":"u1","showtimeid":"s1","movies":["m1"]}}
      """
    Then the response status is 200
    And the response has no header "Idempotent-Replayed"
    When I send a POST request to "/bookings" with body:
      """
      {"data":{"userid":"u1","showtimeid":"s1","movies":["m1"]}}
      """
    Then the response status is 200
    And the bookings collection holds 2 documents
