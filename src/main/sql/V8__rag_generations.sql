-- A counter per tenant that the vectors projection raises with every Document event: the
-- search cache keys on it, so a new, replaced or deleted document invalidates the tenant's
-- cached answers on every node at once.
CREATE TABLE rag_tenant_state (
  tenant_id  text   PRIMARY KEY,
  generation bigint NOT NULL DEFAULT 0
);
ALTER TABLE rag_tenant_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE rag_tenant_state FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON rag_tenant_state
  USING (tenant_id = atrium_current_tenant())
  WITH CHECK (tenant_id = atrium_current_tenant());
