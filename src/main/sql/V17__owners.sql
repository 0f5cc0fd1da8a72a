-- Who owns what (issue 17): a session or a run is owned by the user of a verified token when
-- there is one, else by the API key; no longer only by a key. owner_kind is 'user' or 'key',
-- owner_id the user's or the key's id. Existing rows were all owned by keys: they keep their
-- key as a 'key' owner. owner_key_id goes: nothing reads it any more (the projections write
-- the owner columns, the events carry the owner, the JacksonMigrations read older events).
-- Lists by owner use the re-made indexes; admin lists keep the per-tenant ones.

ALTER TABLE chat_sessions ADD COLUMN owner_kind text, ADD COLUMN owner_id text;
UPDATE chat_sessions SET owner_kind = 'key', owner_id = owner_key_id WHERE owner_key_id IS NOT NULL;
DROP INDEX chat_sessions_by_owner;
ALTER TABLE chat_sessions DROP COLUMN owner_key_id;
ALTER TABLE chat_sessions ADD CONSTRAINT chat_sessions_owner
  CHECK ((owner_kind IS NULL AND owner_id IS NULL) OR (owner_kind IN ('user', 'key') AND owner_id IS NOT NULL));
CREATE INDEX chat_sessions_by_owner
  ON chat_sessions (tenant_id, owner_kind, owner_id, last_active_at DESC, session_id DESC);

ALTER TABLE runs ADD COLUMN owner_kind text, ADD COLUMN owner_id text;
UPDATE runs SET owner_kind = 'key', owner_id = owner_key_id WHERE owner_key_id IS NOT NULL;
DROP INDEX runs_by_owner;
ALTER TABLE runs DROP COLUMN owner_key_id;
ALTER TABLE runs ADD CONSTRAINT runs_owner
  CHECK ((owner_kind IS NULL AND owner_id IS NULL) OR (owner_kind IN ('user', 'key') AND owner_id IS NOT NULL));
CREATE INDEX runs_by_owner ON runs (tenant_id, owner_kind, owner_id, created_at DESC, run_id DESC);
