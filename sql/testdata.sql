-- The seed's test data (infrastructure/sql/testdata.sql), loaded by
-- `accountd --load-test-data` / `accountd::db::load_test_data` only when `user` is empty.
--
-- Differences from the seed: users have explicit ids 1..5 (so they are 1..5 even after earlier
-- rows were deleted); the password column holds an argon2id hash of the seed's plaintext
-- `alksdf98423)*(&#` instead of the plaintext; bundle prices are whole numbers because the
-- column is INT; the auxiliary rows use INSERT IGNORE so reloading never fails on them.
-- Roles are as in the seed: users 2 and 3 have role 3 (outside 0..2), and GET returns them so.

INSERT INTO `user` (`id`, `accountID`, `name`, `email`, `role`, `password`) VALUES
    (1, 1, 'mickey dolenz',   'mickeyd@gmail.com', 1, '$argon2id$v=19$m=19456,t=2,p=1$yR1ZNBf+TFiHhEv4nDCpgA$CGJzFNgfyJ1CG1Tyo3CmI3v1k8qgwIx7PDwIr7f1iQo'),
    (2, 1, 'peter tork',      'petertd@gmail.com', 3, '$argon2id$v=19$m=19456,t=2,p=1$yR1ZNBf+TFiHhEv4nDCpgA$CGJzFNgfyJ1CG1Tyo3CmI3v1k8qgwIx7PDwIr7f1iQo'),
    (3, 1, 'davy jones',      'djonesI@gmail.com', 3, '$argon2id$v=19$m=19456,t=2,p=1$yR1ZNBf+TFiHhEv4nDCpgA$CGJzFNgfyJ1CG1Tyo3CmI3v1k8qgwIx7PDwIr7f1iQo'),
    (4, 1, 'michael nesmith', 'joanne@gmail.com',  2, '$argon2id$v=19$m=19456,t=2,p=1$yR1ZNBf+TFiHhEv4nDCpgA$CGJzFNgfyJ1CG1Tyo3CmI3v1k8qgwIx7PDwIr7f1iQo'),
    (5, 2, 'mama cass',       'mama@gmail.com',    1, '$argon2id$v=19$m=19456,t=2,p=1$yR1ZNBf+TFiHhEv4nDCpgA$CGJzFNgfyJ1CG1Tyo3CmI3v1k8qgwIx7PDwIr7f1iQo');

INSERT IGNORE INTO `account` (`id`, `accountHolderName`, `nickName`, `serviceAddress`, `billingAddress`, `email`, `phone`) VALUES
    (1, 'mickey dolenz', 'mickey',    '123 Laurel Canyon Drive',  '123 Laurel Canyon Drive',  'mickeyd@gmail.com', '7132224512'),
    (2, 'cass elliot',   'mama cass', '1023 Laurel Canyon Drive', '1023 Laurel Canyon Drive', 'mama@gmail.com',    '7132224512');

INSERT IGNORE INTO `accountUser` (`accountID`, `userID`) VALUES
    (1, 1), (1, 2), (1, 3), (1, 4), (2, 5);

INSERT IGNORE INTO `product` (`id`, `prodType`, `name`, `price`) VALUES
    (1, 0, '1000mbps',  129.99),
    (2, 0, '300mbps',   59.99),
    (3, 0, '100mbps',   29.99),
    (4, 1, 'voice',     29.99),
    (5, 2, 'ABC',       29.99),
    (6, 2, 'HBO',       29.99),
    (7, 2, 'A&E',       29.99),
    (8, 2, 'telemundo', 29.99);

INSERT IGNORE INTO `bundle` (`id`, `name`, `price`) VALUES
    (1, 'basic+internet+voice+tv',   100),
    (2, 'pro+internet+voice+tv',     200),
    (3, 'premium+internet+voice+tv', 300);

INSERT IGNORE INTO `bundleProduct` (`bundleID`, `productID`) VALUES
    (1, 3), (1, 4), (1, 5),
    (2, 2), (2, 4), (2, 5), (2, 6), (2, 7),
    (3, 1), (3, 4), (3, 5), (3, 6), (3, 7), (3, 8);
