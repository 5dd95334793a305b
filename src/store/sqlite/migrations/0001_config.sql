-- Config state: one row per program with its revision, one row per resource with
-- its spec as JSON, and every applied changeset.
CREATE TABLE programs (
    key        TEXT PRIMARY KEY,
    revision   BIGINT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE resources (
    program TEXT NOT NULL REFERENCES programs (key),
    kind    TEXT NOT NULL,
    key     TEXT NOT NULL,
    spec    TEXT NOT NULL,
    PRIMARY KEY (program, kind, key)
);

CREATE TABLE changesets (
    program       TEXT NOT NULL REFERENCES programs (key),
    revision      BIGINT NOT NULL,
    base_revision BIGINT NOT NULL,
    author        TEXT NOT NULL,
    message       TEXT,
    git_commit    TEXT,
    applied_at    TEXT NOT NULL,
    creates       BIGINT NOT NULL,
    updates       BIGINT NOT NULL,
    deletes       BIGINT NOT NULL,
    changes       TEXT NOT NULL,
    PRIMARY KEY (program, revision)
);

CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,
    scopes     TEXT NOT NULL,
    created_at TEXT NOT NULL
);
