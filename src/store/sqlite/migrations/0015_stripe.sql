-- The Stripe source (numbered after its issue, clear of the runtime's own
-- migrations). Stripe's signing secret per program; each Stripe event taken,
-- with the partnerops events it became; and what the source must remember to
-- turn a refund into partnerops refunds: each paid invoice's lines, which
-- payment (charge or payment intent) paid which invoice, and how much of each
-- charge Stripe says is refunded and how much of that has been passed on.

-- Kept as given, not hashed: verifying an HMAC needs the secret itself.
CREATE TABLE stripe_secrets (
    program TEXT PRIMARY KEY,
    secret  TEXT NOT NULL,
    set_at  TEXT NOT NULL
);

CREATE TABLE stripe_events (
    program     TEXT NOT NULL,
    id          TEXT NOT NULL,
    type        TEXT NOT NULL,
    created     TEXT NOT NULL,
    received_at TEXT NOT NULL,
    -- The partnerops events it became, NDJSON: sent again to the engine when
    -- Stripe delivers the event again (the engine takes each id once).
    events      TEXT NOT NULL,
    -- Why it became no event, or what of it was left out (JSON list).
    notes       TEXT NOT NULL,
    PRIMARY KEY (program, id)
);

CREATE TABLE stripe_invoices (
    program  TEXT NOT NULL,
    id       TEXT NOT NULL,
    customer TEXT NOT NULL,
    currency TEXT NOT NULL,
    -- [{id, transaction, amount}], amounts in the currency's minor units.
    lines    TEXT NOT NULL,
    PRIMARY KEY (program, id)
);

CREATE TABLE stripe_payments (
    program TEXT NOT NULL,
    payment TEXT NOT NULL,
    invoice TEXT NOT NULL,
    PRIMARY KEY (program, payment)
);
CREATE INDEX stripe_payments_invoice ON stripe_payments (program, invoice);

CREATE TABLE stripe_charges (
    program        TEXT NOT NULL,
    id             TEXT NOT NULL,
    payment_intent TEXT,
    invoice        TEXT,
    amount         BIGINT NOT NULL,
    currency       TEXT NOT NULL,
    -- The most Stripe has said is refunded (amount_refunded), and how much of
    -- it has become partnerops refunds.
    refunded       BIGINT NOT NULL,
    passed_on      BIGINT NOT NULL,
    refunded_at    TEXT NOT NULL,
    PRIMARY KEY (program, id)
);
CREATE INDEX stripe_charges_payment_intent ON stripe_charges (program, payment_intent);
