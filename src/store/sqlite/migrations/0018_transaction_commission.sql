-- Each transaction's net commission (the sum of its ledger lines), kept on
-- the transaction's row as the lines are written, so the products report
-- sums one column: looking up 100,000 transactions' lines one index search
-- each was half of the products page with 100,000 partners. Lines already
-- recorded are summed once here; the lines themselves stay as they were.
ALTER TABLE transactions ADD COLUMN commission INTEGER NOT NULL DEFAULT 0;
UPDATE transactions SET commission = s.total
FROM (SELECT program, transaction_key, SUM(amount) AS total FROM ledger GROUP BY program, transaction_key) AS s
WHERE s.program = transactions.program AND s.transaction_key = transactions.key;
