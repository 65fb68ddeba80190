-- MockVideo schema, as the seed's infrastructure/sql/create.sql defined it (tables only: the
-- database and its users are created by whoever provisions MySQL).
--
-- accountd uses only `user`. Identifiers are quoted because sqlx connects with IGNORE_SPACE,
-- which turns function names such as USER and PASSWORD into reserved words.
-- The collation is pinned so that MariaDB and MySQL 8 agree on what counts as a duplicate
-- e-mail (case-insensitive, trailing spaces ignored).

CREATE TABLE IF NOT EXISTS `user` (
    `accountID` INT,
    `id`        INT NOT NULL AUTO_INCREMENT,
    `name`      VARCHAR(255) NOT NULL,
    `email`     VARCHAR(255) UNIQUE,
    -- 0 primary/owner, 1 unrestricted/admin, 2 restricted (the seed's data also uses 3).
    `role`      INT,
    -- An argon2 PHC string, never the plaintext.
    `password`  VARCHAR(255),
    PRIMARY KEY (`id`)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `account` (
    `id`                INT NOT NULL AUTO_INCREMENT,
    `accountHolderName` VARCHAR(255) NOT NULL,
    `nickName`          VARCHAR(255),
    `serviceAddress`    VARCHAR(255) NOT NULL,
    `billingAddress`    VARCHAR(255) NOT NULL,
    `email`             VARCHAR(255) NOT NULL UNIQUE,
    `phone`             VARCHAR(10) NOT NULL,
    PRIMARY KEY (`id`)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `bundle` (
    `id`    INT NOT NULL AUTO_INCREMENT,
    `name`  VARCHAR(255) NOT NULL UNIQUE,
    `price` INT NOT NULL,
    PRIMARY KEY (`id`)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `product` (
    `id`       INT NOT NULL AUTO_INCREMENT,
    `prodType` INT,
    `name`     VARCHAR(255) NOT NULL,
    `price`    DECIMAL(5, 2) NOT NULL,
    PRIMARY KEY (`id`),
    UNIQUE KEY `product_type_name` (`prodType`, `name`)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `accountUser` (
    `accountID` INT NOT NULL,
    `userID`    INT NOT NULL,
    PRIMARY KEY (`accountID`, `userID`)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `bundleProduct` (
    `bundleID`  INT NOT NULL,
    `productID` INT NOT NULL,
    PRIMARY KEY (`bundleID`, `productID`)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
