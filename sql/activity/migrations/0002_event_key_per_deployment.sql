-- An event is identified by `(deployment_id, id)`, not by `id` alone: deployments number their
-- events independently (the original's README creates "id [1] for deployment_id [1]"), so two
-- deployments may both send event 1. The unique key moves from `(id)` to
-- `(deployment_id, id)`; it is still what makes concurrent creates of one event store one row.
--
-- No row is lost or rewritten: ids were unique on their own, so they are unique per deployment
-- too, and adding this key cannot fail on existing data. One `ALTER TABLE`, so MySQL applies
-- both changes or neither (DDL is not transactional, a single statement is atomic).
-- `seq` stays the primary key: it is the insertion order ListEvents streams in.

ALTER TABLE `activity_event`
    DROP INDEX `activity_event_id`,
    ADD UNIQUE KEY `activity_event_deployment_id` (`deployment_id`, `id`);
