-- A token may be bound to one program: a partner:KEY token must be, as a
-- partner key names a partner of one program only.
ALTER TABLE tokens ADD COLUMN program TEXT;

-- Partner tokens made before this: with one program there is only one they
-- can have meant; with several, the engine refuses them until remade.
UPDATE tokens
SET program = (SELECT MIN(key) FROM programs)
WHERE scopes LIKE '%partner:%' AND (SELECT COUNT(*) FROM programs) = 1;
