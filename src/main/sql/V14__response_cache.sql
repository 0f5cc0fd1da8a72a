-- The cluster-wide response cache (DESIGN.md §2, §4): one row per cached answer, written
-- by the gateway of any node after a complete answer and read by every node (Caffeine in
-- front of it on each). Both as the service role, under row-level security.
--
-- UNLOGGED: a cache, not a record. A crash empties it (PostgreSQL truncates unlogged tables
-- in recovery), which only costs misses; in exchange its writes skip the WAL.
--
-- cache_key is the SHA-256 of the canonical request (tenant, model, prompt messages, the
-- options that change the answer; dev.atrium.gateway.cache.CacheKey): never the request
-- itself. answer is the cached answer: text, tool calls, finish reason and usage.
CREATE UNLOGGED TABLE response_cache (
  tenant_id   text        NOT NULL,
  cache_key   bytea       NOT NULL,
  -- the tenant's model name the answer was asked of (for inspection; the key covers it)
  model       text        NOT NULL,
  answer      jsonb       NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  -- a read ignores a row past this; the response-cache-prune job deletes it
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, cache_key)
);

-- The pruning job deletes by expiry across tenants.
CREATE INDEX response_cache_by_expiry ON response_cache (expires_at);

ALTER TABLE response_cache ENABLE ROW LEVEL SECURITY;
ALTER TABLE response_cache FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON response_cache
  USING (tenant_id = atrium_current_tenant())
  WITH CHECK (tenant_id = atrium_current_tenant());
