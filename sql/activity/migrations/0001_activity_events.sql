-- activity-server's event store. The service owns its own database (default `activity`):
-- sqlx keeps one `_sqlx_migrations` table per database, so it must not share accountd's.
--
-- `seq` is the insertion order ListEvents streams in (keyset pagination on it); `id` is the
-- client's event id and the idempotency key (UNIQUE: concurrent creates of one id store one
-- row). The service compares messages byte for byte itself; the collation only matters for
-- sorting, and a `_bin` one would make MySQL flag the column BINARY, which sqlx will not decode
-- as text.

CREATE TABLE IF NOT EXISTS `activity_event` (
    `seq`           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    `id`            INT NOT NULL,
    `deployment_id` INT NOT NULL,
    `message`       MEDIUMTEXT NOT NULL,
    -- Client send time and server receive time, Unix nanoseconds.
    `send_ns`       BIGINT NOT NULL,
    `receive_ns`    BIGINT NOT NULL,
    PRIMARY KEY (`seq`),
    UNIQUE KEY `activity_event_id` (`id`),
    KEY `activity_event_deployment_seq` (`deployment_id`, `seq`)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
