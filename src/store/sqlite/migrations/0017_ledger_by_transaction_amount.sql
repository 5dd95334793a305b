-- A transaction's lines with their amounts, so the products report sums
-- each transaction's commissions from the index alone: looking up 120,000
-- rows of the ledger by row number was most of the products page with
-- 100,000 partners. The index replaces the one it widens; the runtime's
-- lookups of a transaction's lines use it as before.
DROP INDEX ledger_by_transaction;
CREATE INDEX ledger_by_transaction ON ledger (program, transaction_key, amount);
