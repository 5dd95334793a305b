-- The ledger and order-independent events.
--
-- Events keep who they are about, so one partner's history can be read back
-- and replayed; partners keep where their history stands (the last event
-- applied, the last daily check fired) and when their next daily check
-- comes due, which the sweep reads through an index instead of every
-- partner; customers keep their referral; a subscription key keeps one
-- record per product it held; refunds are their own rows; commissions
-- become an append-only ledger of commission, reversal and adjustment lines
-- with payouts.

-- Decimals the program's amounts are kept in: hundredths until now.
ALTER TABLE programs ADD COLUMN minor_units INTEGER NOT NULL DEFAULT 2;
ALTER TABLE programs ADD COLUMN swept_through TEXT;
-- 1 from a changeset with backfills until they have all run: the sweep
-- finishes what a crash cut short.
ALTER TABLE programs ADD COLUMN backfill_pending INTEGER NOT NULL DEFAULT 0;

ALTER TABLE events ADD COLUMN subject TEXT;
UPDATE events SET subject = json_extract(body, '$.partner.key')
WHERE type IN ('partner.joined', 'partner.updated', 'partner.active');
CREATE INDEX events_by_subject ON events (program, subject) WHERE subject IS NOT NULL;

ALTER TABLE partners ADD COLUMN sales BIGINT NOT NULL DEFAULT 0;
-- "TIME|RANK|EVENT-ID" of the last event applied; NULL for partners recorded
-- before it was kept.
ALTER TABLE partners ADD COLUMN mark TEXT;
ALTER TABLE partners ADD COLUMN last_fire_at TEXT;
-- '' sorts before every time: the next sweep works it out.
ALTER TABLE partners ADD COLUMN next_due_at TEXT DEFAULT '';
UPDATE partners SET next_due_at = '';
UPDATE partners SET sales = (
    SELECT COUNT(*) FROM transactions t
    WHERE t.program = partners.program AND t.partner = partners.key AND t.amount > 0
);
CREATE INDEX partners_by_due ON partners (program, next_due_at);

-- The referral: "TIME|RANK|EVENT-ID" of the signup that made it.
ALTER TABLE customers ADD COLUMN referral TEXT;
UPDATE customers SET referral = (
    SELECT e.at || '|3|' || e.id FROM events e
    WHERE e.program = customers.program AND e.type = 'customer.signed_up'
      AND json_extract(e.body, '$.customer.key') = customers.key
    ORDER BY e.at, e.id LIMIT 1
) WHERE partner IS NOT NULL;
CREATE INDEX customers_by_partner ON customers (program, partner);

-- One record per (subscription key, product): an upgrade keeps the earlier
-- product's record, created date and status history.
CREATE TABLE customer_products_new (
    program      TEXT NOT NULL,
    subscription TEXT NOT NULL,
    product      TEXT NOT NULL,
    customer     TEXT NOT NULL,
    status       TEXT NOT NULL,
    partner      TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    statuses     TEXT NOT NULL,
    PRIMARY KEY (program, subscription, product)
);
INSERT INTO customer_products_new
    (program, subscription, product, customer, status, partner, created_at, updated_at, statuses)
SELECT program, subscription, product, customer, status, partner, created_at, updated_at, statuses
FROM customer_products;
DROP TABLE customer_products;
ALTER TABLE customer_products_new RENAME TO customer_products;
CREATE INDEX customer_products_by_customer ON customer_products (program, customer);
CREATE INDEX customer_products_by_product ON customer_products (program, product);

ALTER TABLE transactions ADD COLUMN event_id TEXT;
ALTER TABLE transactions ADD COLUMN refunded BIGINT NOT NULL DEFAULT 0;
UPDATE transactions SET event_id = (
    SELECT e.id FROM events e
    WHERE e.program = transactions.program AND e.type = 'transaction.created'
      AND json_extract(e.body, '$.transaction.key') = transactions.key
    LIMIT 1
);
CREATE INDEX transactions_by_partner ON transactions (program, partner);

CREATE TABLE refunds (
    program         TEXT NOT NULL,
    key             TEXT NOT NULL,
    transaction_key TEXT NOT NULL,
    amount          BIGINT NOT NULL,
    at              TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    -- 0 while the transaction has not arrived.
    applied         INTEGER NOT NULL,
    PRIMARY KEY (program, key)
);
CREATE INDEX refunds_by_transaction ON refunds (program, transaction_key);

CREATE TABLE ledger (
    -- The line's number, in the order lines were written: the database
    -- assigns it (INTEGER PRIMARY KEY here, an identity column in PostgreSQL).
    id              INTEGER PRIMARY KEY,
    program         TEXT NOT NULL,
    partner         TEXT NOT NULL,
    transaction_key TEXT NOT NULL,
    trigger         TEXT NOT NULL,
    revision        BIGINT NOT NULL,
    product         TEXT,
    kind            TEXT NOT NULL,
    amount          BIGINT NOT NULL,
    due_at          TEXT NOT NULL,
    installment     BIGINT NOT NULL,
    installments    BIGINT NOT NULL,
    -- 1: a negative line against paid money, approved at once.
    clawback        INTEGER NOT NULL,
    -- Set once, when a payout takes the line.
    payout          BIGINT,
    cause           TEXT,
    created_at      TEXT NOT NULL
);
-- Lines already recorded stay as they were: commissions of their trigger.
INSERT INTO ledger (program, partner, transaction_key, trigger, revision, product, kind, amount,
                    due_at, installment, installments, clawback, payout, cause, created_at)
SELECT c.program, c.partner, c.transaction_key, c.trigger, c.revision, t.product, 'commission',
       c.amount, c.due_at, c.installment, c.installments, 0, NULL, NULL, c.created_at
FROM commissions c
LEFT JOIN transactions t ON t.program = c.program AND t.key = c.transaction_key
ORDER BY c.created_at, c.due_at, c.transaction_key, c.trigger, c.installment;
DROP TABLE commissions;
CREATE INDEX ledger_by_partner ON ledger (program, partner, transaction_key);
CREATE INDEX ledger_by_transaction ON ledger (program, transaction_key);
CREATE INDEX ledger_unpaid ON ledger (program, partner) WHERE payout IS NULL;
CREATE INDEX ledger_by_payout ON ledger (program, payout) WHERE payout IS NOT NULL;

CREATE TABLE payouts (
    program    TEXT NOT NULL,
    id         BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    as_of      TEXT NOT NULL,
    partners   BIGINT NOT NULL,
    lines      BIGINT NOT NULL,
    total      BIGINT NOT NULL,
    PRIMARY KEY (program, id)
);

-- Keys renamed by `previously:`, so a replay reads old events under the keys
-- the config uses now.
CREATE TABLE renames (
    program  TEXT NOT NULL,
    kind     TEXT NOT NULL,
    old_key  TEXT NOT NULL,
    new_key  TEXT NOT NULL,
    revision BIGINT NOT NULL
);
CREATE INDEX renames_by_program ON renames (program, kind);
