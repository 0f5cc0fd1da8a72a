-- Chat sessions as lists need them: written by the ChatSession projection (system role),
-- read by session lists and admin views (service role, row-level security).
CREATE TABLE chat_sessions (
  tenant_id      text        NOT NULL,
  session_id     text        NOT NULL,
  owner_key_id   text,
  title          text,
  model          text,
  created_at     timestamptz NOT NULL,
  last_active_at timestamptz NOT NULL,
  message_count  integer     NOT NULL DEFAULT 0,
  tokens_in      bigint      NOT NULL DEFAULT 0,
  tokens_out     bigint      NOT NULL DEFAULT 0,
  -- active | closed | expired
  status         text        NOT NULL DEFAULT 'active',
  PRIMARY KEY (tenant_id, session_id)
);

-- Newest first, by owner (the caller's sessions) and across the tenant (admin).
CREATE INDEX chat_sessions_by_owner ON chat_sessions (tenant_id, owner_key_id, last_active_at DESC, session_id DESC);
CREATE INDEX chat_sessions_by_activity ON chat_sessions (tenant_id, last_active_at DESC, session_id DESC);

ALTER TABLE chat_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE chat_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON chat_sessions
  USING (tenant_id = atrium_current_tenant())
  WITH CHECK (tenant_id = atrium_current_tenant());
