-- Idempotency-Key (IETF httpapi draft) for accountd's writes: one row per key, with a
-- fingerprint of the request it was first used for, the holder's token and lease while the
-- request runs, then the answer replayed to retries (status, kept headers as JSON, body) until
-- the key expires. See services/platform/src/idempotency/mysql.rs.
CREATE TABLE IF NOT EXISTS `idempotency_key` (
    `idem_key`    VARBINARY(255) NOT NULL,
    `fingerprint` BINARY(32) NOT NULL,
    `token`       BIGINT UNSIGNED NOT NULL,
    `status`      SMALLINT UNSIGNED NULL,
    `headers`     TEXT NULL,
    `body`        MEDIUMBLOB NULL,
    `lease_until` DATETIME(3) NOT NULL,
    `expires_at`  DATETIME(3) NOT NULL,
    PRIMARY KEY (`idem_key`),
    KEY `idempotency_key_expiry` (`expires_at`)
) ENGINE = InnoDB;
