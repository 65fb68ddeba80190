@mysql @activity
Feature: The activity client keeps the original's flags and output
  Scripts written against the original client still work: -add and -deployment, its output
  lines, a non-zero exit with a one-line reason on failure, and --json for new scripts.

  Background:
    Given the activity server is running on a fresh database

  Scenario: The client adds an event and lists it with the original's lines
    When I run the activity client with `-add '{"id":1,"message":"Deployment has beed created successfully","deployment_id":1}'`
    Then the client exits with status 0
    And the client prints a line starting with "An event created with id [1] for deployment_id [1] in "
    When I run the activity client with `-deployment 1`
    Then the client exits with status 0
    And the client prints a line starting with "Event: id:1 message:"
    And the client prints a line containing "Deployment has beed created successfully"
    And the client prints a line containing "timestamp:<send:"

  Scenario: Listing before adding, in one call, as the original ordered it
    When I run the activity client with `-add '{"id":2,"message":"second","deployment_id":5}'`
    And I run the activity client with `-deployment 5 -add '{"id":3,"message":"third","deployment_id":5}'`
    Then the client exits with status 0
    And the client prints 1 lines starting with "Event: "
    And the client prints a line starting with "An event created with id [3]"

  Scenario: JSON output for scripts
    When I run the activity client with `--json -add '{"id":4,"message":"json please","deployment_id":6}'`
    Then the client exits with status 0
    And every line the client prints is a JSON object with "id"

  Scenario: Invalid JSON is refused without sending anything
    When I run the activity client with `-add '{not json'`
    Then the client exits with status 1
    And the client reports an error containing "Unable to parse"
    When I list the events of deployment 0
    Then no events are listed

  Scenario: A server error gives a non-zero exit and the gRPC code
    When I run the activity client with `-add '{"id":0,"message":"bad id","deployment_id":1}'`
    Then the client exits with status 1
    And the client reports an error containing "InvalidArgument"
