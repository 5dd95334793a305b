-- A token may be bound to one program: a partner:KEY token must be, as a
-- partner key names a partner of one program only.
ALTER TABLE tokens ADD COLUMN program TEXT;
