-- Unpaid lines in the order they were written, not grouped by partner. A
-- payout marks every approved line of the partners it pays: walked by
-- partner, the rows (and this index's entries, removed as each line is
-- paid) are visited in random order, and a payout over 1M lines rewrote a
-- page per line. Walked in line order, it rewrites each page once.
DROP INDEX ledger_unpaid;
CREATE INDEX ledger_unpaid ON ledger (program) WHERE payout IS NULL;
