-- The services' MySQL users, for a MySQL the chart does not run (the prod values' external
-- stores): one user per service, each with only what its sqlx migrations (CREATE TABLE, the
-- `_sqlx_migrations` table, ALTER TABLE: activity's 0002 moves a unique key) and its queries
-- (SELECT, INSERT, UPDATE, DELETE) need on its own
-- database. No ALL, no GRANT OPTION, nothing on other databases. Replace the passwords and put
-- them in the services' Secrets (`dbuser` / `dbpassword` of accountd-secrets and
-- activity-server-secrets). The chart's in-cluster MySQL runs the same statements at every start
-- (helm/mockvideo/templates/backing.yaml, from the dev credentials of helm/mockvideo/values.yaml);
-- `cargo xtask deploy` refuses a rendering with `GRANT ALL` or `WITH GRANT OPTION`.
CREATE DATABASE IF NOT EXISTS `mockvideo`;
CREATE DATABASE IF NOT EXISTS `activity`;

CREATE USER IF NOT EXISTS 'accountd'@'%' IDENTIFIED BY 'CHANGE-ME-accountd';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER ON `mockvideo`.* TO 'accountd'@'%';

CREATE USER IF NOT EXISTS 'activity'@'%' IDENTIFIED BY 'CHANGE-ME-activity';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER ON `activity`.* TO 'activity'@'%';
