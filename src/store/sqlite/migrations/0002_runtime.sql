-- The runtime: events as received, partners with their stats and tags, the
-- bookkeeping that makes "once" triggers fire once, customers and the products
-- they hold, transactions and the commissions computed from them.

CREATE TABLE events (
    program     TEXT NOT NULL,
    id          TEXT NOT NULL,
    type        TEXT NOT NULL,
    at          TEXT NOT NULL,
    received_at TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (program, id)
);

CREATE TABLE partners (
    program             TEXT NOT NULL,
    key                 TEXT NOT NULL,
    name                TEXT,
    email               TEXT,
    grp                 TEXT,
    joined_at           TEXT NOT NULL,
    last_activity_at    TEXT NOT NULL,
    last_referral_at    TEXT NOT NULL,
    signups             BIGINT NOT NULL,
    customers           BIGINT NOT NULL,
    revenue             BIGINT NOT NULL,
    first_signup_at     TEXT,
    first_sale_at       TEXT,
    first_commission_at TEXT,
    -- The partner's tags, space-separated with a space at each end (" a b "):
    -- read with the row, so a batch of events does not read a row per tag.
    -- partner_tags holds the same, indexed by tag.
    tags                TEXT NOT NULL,
    -- When each automation last fired for the partner, " key=TIME key=TIME ":
    -- once-only triggers fire when their key is absent; re-arming checks
    -- re-arm when activity came after the time. On the row for the same
    -- reason as tags: the sweep reads a row per partner, not one per firing.
    fires               TEXT NOT NULL,
    PRIMARY KEY (program, key)
);

CREATE TABLE partner_tags (
    program  TEXT NOT NULL,
    partner  TEXT NOT NULL,
    tag      TEXT NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (program, partner, tag)
);
CREATE INDEX partner_tags_by_tag ON partner_tags (program, tag);

-- Every tag change with its cause: an automation (cause = its key), a config
-- change (cause = the revision) or a person.
CREATE TABLE tag_changes (
    -- The row's own key, and the order changes were recorded in (history is
    -- read ORDER BY at, seq). The database assigns it: here INTEGER PRIMARY
    -- KEY (SQLite's rowid, growing since rows are never deleted), in
    -- PostgreSQL BIGINT GENERATED ALWAYS AS IDENTITY; queries name only seq.
    seq          INTEGER PRIMARY KEY,
    program      TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject      TEXT NOT NULL,
    tag          TEXT NOT NULL,
    change       TEXT NOT NULL,
    cause_kind   TEXT NOT NULL,
    cause        TEXT NOT NULL,
    event_id     TEXT,
    at           TEXT NOT NULL
);
CREATE INDEX tag_changes_by_subject ON tag_changes (program, subject_kind, subject);

-- signed_up_at is when the customer was first seen: the referral signup, or
-- the first product or purchase of a customer who came without one.
CREATE TABLE customers (
    program           TEXT NOT NULL,
    key               TEXT NOT NULL,
    partner           TEXT,
    signed_up_at      TEXT,
    first_purchase_at TEXT,
    -- Partners the customer bought through, " a b ": whether a purchase adds
    -- to a partner's distinct customers, without reading their transactions.
    bought_through    TEXT NOT NULL,
    PRIMARY KEY (program, key)
);

CREATE TABLE customer_tags (
    program  TEXT NOT NULL,
    customer TEXT NOT NULL,
    tag      TEXT NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (program, customer, tag)
);
CREATE INDEX customer_tags_by_tag ON customer_tags (program, tag);

CREATE TABLE customer_products (
    program      TEXT NOT NULL,
    subscription TEXT NOT NULL,
    customer     TEXT NOT NULL,
    product      TEXT NOT NULL,
    status       TEXT NOT NULL,
    partner      TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    -- Every status and when it took effect, " MICROS=status ... ", oldest
    -- first: a transaction is judged by its product's status at its time.
    statuses     TEXT NOT NULL,
    PRIMARY KEY (program, subscription)
);
CREATE INDEX customer_products_by_customer ON customer_products (program, customer);
CREATE INDEX customer_products_by_product ON customer_products (program, product);

CREATE TABLE transactions (
    program      TEXT NOT NULL,
    key          TEXT NOT NULL,
    customer     TEXT NOT NULL,
    amount       BIGINT NOT NULL,
    subscription TEXT,
    kind         TEXT NOT NULL,
    at           TEXT NOT NULL,
    partner      TEXT,
    product      TEXT,
    revision     BIGINT NOT NULL,
    -- What the commission rules saw, so explain agrees with the ledger later:
    -- the product's status and creation, the partner's group and tags
    -- (" a b "), when the customer was first seen.
    seen_status         TEXT,
    seen_created_at     TEXT,
    seen_group          TEXT,
    seen_tags           TEXT NOT NULL,
    seen_customer_since TEXT,
    PRIMARY KEY (program, key)
);
CREATE INDEX transactions_by_customer ON transactions (program, customer);

CREATE TABLE commissions (
    program      TEXT NOT NULL,
    transaction_key TEXT NOT NULL,
    trigger      TEXT NOT NULL,
    installment  BIGINT NOT NULL,
    installments BIGINT NOT NULL,
    partner      TEXT NOT NULL,
    amount       BIGINT NOT NULL,
    due_at       TEXT NOT NULL,
    revision     BIGINT NOT NULL,
    created_at   TEXT NOT NULL
);
-- One index: the ledger is read by partner. A transaction is recorded once
-- and each trigger evaluated once for it, so rows are unique without a key;
-- explain finds a transaction's rows through its partner.
CREATE INDEX commissions_by_partner ON commissions (program, partner, transaction_key);
