@redis @events
Feature: Requests the producer refuses
  Errors are JSON (Content-Type application/json) carrying both the seed's fields
  {"status","title","description"} and the workspace's {"error":{"code","message"}}. Nothing is
  written to the stream for a refused request.

  Background:
    Given an event producer on a fresh stream

  Scenario Outline: Unknown paths answer 404 "Endpoint Not Found" (Robot: Test default api endpoint): <method> <path>
    When I send a <method> request to "<path>"
    Then the response status is 404
    And the response JSON at "/status" is 404
    And the response JSON at "/title" is "Endpoint Not Found"
    And the response JSON at "/description" is "Endpoint Not Found"
    And the response is a JSON error

    Examples:
      | method | path      |
      | GET    | /         |
      | GET    | /event/   |
      | POST   | /event/   |
      | POST   | /events   |
      | DELETE | /nothing  |

  Scenario Outline: Other methods on /event answer 405 titled with the method (Robot: Test invalid request method event api endpoint): <method>
    When I send a <method> request to "/event" with body:
      """
      {"description":"123"}
      """
    Then the response status is 405
    And the response JSON at "/status" is 405
    And the response JSON at "/title" is "<method>"
    And the response JSON at "/description" is "Method Not Allowed"
    And the response header "Allow" contains "POST"
    And the response is a JSON error whose message contains "Method Not Allowed"
    And the stream holds 1 entries

    Examples:
      | method |
      | PUT    |
      | DELETE |
      | PATCH  |
      | GET    |

  Scenario Outline: Undecodable bodies answer 400 "Error unmarshalling body" (Robot: Test invalid request body event api endpoint): <case>
    When I post the raw body '<body>'
    Then the response status is 400
    And the response JSON at "/status" is 400
    And the response JSON at "/title" is "Error unmarshalling body"
    And the response JSON has a key "/description"
    And the response is a JSON error
    And the stream holds 1 entries

    Examples:
      | case                    | body                     |
      | description is a number | {"description":123}      |
      | malformed JSON          | {"description":          |
      | empty body              |                          |
      | top-level array         | [{"description":"x"}]    |
      | a bare string           | "hello"                  |

  Scenario: A body over the limit answers 413 with a JSON error
    When I post an event one byte larger than the producer's body limit
    Then the response status is 413
    And the response is a JSON error
    And the stream holds 1 entries
