-- Each transaction's net commission (the sum of its ledger lines), kept on
-- the transaction's row as the lines are written, so the products report
-- sums one column rather than every transaction's lines (SQLite's
-- migration 0018). Lines already recorded are summed once here.
ALTER TABLE transactions ADD COLUMN commission BIGINT NOT NULL DEFAULT 0;
UPDATE transactions SET commission = s.total
FROM (SELECT program, transaction_key, SUM(amount) AS total FROM ledger GROUP BY program, transaction_key) AS s
WHERE s.program = transactions.program AND s.transaction_key = transactions.key;
