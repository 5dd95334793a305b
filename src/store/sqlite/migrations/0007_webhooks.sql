-- Webhooks out: each endpoint's signing secrets, the outbox, and the leases
-- that make one replica the only sender of an endpoint's messages.

-- Kept as they are, not hashed: the engine signs with them. The secret it
-- replaced keeps signing until previous_until (a rotation's grace period).
CREATE TABLE webhook_secrets (
    program        TEXT NOT NULL,
    endpoint       TEXT NOT NULL,
    secret         TEXT NOT NULL,
    previous       TEXT,
    previous_until TEXT,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (program, endpoint)
);

-- One row per message and endpoint, written in the transaction of the
-- change that caused it. seq is the order of sending per endpoint, assigned
-- by the database as for tag_changes (here INTEGER PRIMARY KEY, in
-- PostgreSQL BIGINT GENERATED ALWAYS AS IDENTITY). Times are RFC 3339 UTC
-- with microseconds, so comparing them as text compares them as times.
CREATE TABLE webhook_messages (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL,
    program         TEXT NOT NULL,
    endpoint        TEXT NOT NULL,
    type            TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    -- pending | delivered | failed
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    last_attempt_at TEXT,
    last_status     BIGINT,
    last_error      TEXT
);
-- The queues: each endpoint's pending messages in order, found without
-- reading the delivered ones.
CREATE INDEX webhook_messages_queue ON webhook_messages (status, program, endpoint, seq);
CREATE UNIQUE INDEX webhook_messages_by_id ON webhook_messages (id);

-- Who sends an endpoint's messages until when. A replica takes a free or
-- expired lease with one upsert, so two never hold the same one.
CREATE TABLE webhook_leases (
    program      TEXT NOT NULL,
    endpoint     TEXT NOT NULL,
    owner        TEXT NOT NULL,
    leased_until TEXT NOT NULL,
    PRIMARY KEY (program, endpoint)
);
