-- Row-level security, the second fence behind the tenant filter every query carries.
-- Every table with a tenant_id gets:
--   ALTER TABLE t ENABLE ROW LEVEL SECURITY; ALTER TABLE t FORCE ROW LEVEL SECURITY;
--   CREATE POLICY tenant_isolation ON t USING (tenant_id = atrium_current_tenant())
--     WITH CHECK (tenant_id = atrium_current_tenant());
-- The service role sets atrium.tenant_id per transaction (set_config(..., true)); with
-- nothing set the function answers NULL and no row matches.
CREATE OR REPLACE FUNCTION atrium_current_tenant() RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT nullif(current_setting('atrium.tenant_id', true), '') $$;
