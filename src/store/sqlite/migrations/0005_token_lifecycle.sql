-- Tokens expire and are revoked; when each was last used is noted (at most
-- about once a minute, not on every request). A changeset applied over HTTP
-- records the id of the token that applied it, beside the author the client
-- names.
ALTER TABLE tokens ADD COLUMN expires_at TEXT;
ALTER TABLE tokens ADD COLUMN revoked_at TEXT;
ALTER TABLE tokens ADD COLUMN last_used_at TEXT;
ALTER TABLE changesets ADD COLUMN token TEXT;
