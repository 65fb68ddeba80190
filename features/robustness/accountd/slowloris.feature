@accountd @robustness @mysql
Feature: Slow and idle connections are reaped while accountd keeps answering
  A slowloris client opens many connections and trickles a request header one byte at a time,
  so that the server keeps a connection (and its memory) for each. accountd gives a request
  header a bounded time to arrive (`connections.header_read_timeout`, 10 s by default, 2 s here)
  and closes a kept-alive connection that sends nothing after its last response
  (`connections.idle_timeout`, 60 s by default, 1 s here); ordinary requests are answered all
  the while. Before this bound, 150 such connections stayed open for the whole 30 s test.

  Background:
    Given accountd runs as a process of its own on a fresh database with a 2 s header-read timeout and a 1 s idle timeout

  Scenario: 150 slowloris connections are reaped within the header-read timeout
    When 150 connections send a partial request header, one more byte every 500 ms, while ordinary requests are sent
    Then accountd answered every ordinary request with 200
    And accountd closed all 150 slow connections between 1 s and 4 s after they opened
    And accountd still answers GET /users with 200

  Scenario: A kept-alive connection that stays silent after its response is closed after the idle timeout
    When a client sends one complete request on a kept-alive connection and then stays silent
    Then accountd closed that connection between 1 s and 3 s after it opened
    And accountd still answers GET /users with 200
