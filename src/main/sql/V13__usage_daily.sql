-- The daily roll-up of usage_events (DESIGN.md §2): one row per tenant, account, user, key,
-- model and UTC day, written by the usage-daily job (the system role) and read by the usage
-- views (the service role, under row-level security) and the admin export.
--
-- The job replaces the rows of the days it rolls up (delete and insert in one transaction),
-- so a day rolled up twice holds the same figures as a day rolled up once.
CREATE TABLE usage_daily (
  day               date    NOT NULL,
  tenant_id         text    NOT NULL,
  account_id        text,
  user_id           text,
  key_id            text,
  -- the tenant's model name (as usage_events.model)
  model             text    NOT NULL,
  requests          bigint  NOT NULL,
  tokens_in         bigint  NOT NULL,
  tokens_out        bigint  NOT NULL,
  cached_tokens_in  bigint  NOT NULL,
  -- the tenant's cost: the sum over its priced calls on its own provider keys;
  -- unpriced_requests says how many calls had no price
  cost_micro_usd    bigint  NOT NULL,
  unpriced_requests bigint  NOT NULL,
  -- calls made on a caller's own provider key (x-openai-key, ...), counted in requests and
  -- tokens, and what they cost the caller (not the tenant)
  byo_requests       bigint NOT NULL,
  byo_cost_micro_usd bigint NOT NULL,
  -- the sum of usage_events.total_ms
  compute_ms        bigint  NOT NULL,
  -- account, user and key may be null (a key without an account, no user yet): one row per
  -- group all the same
  CONSTRAINT usage_daily_group UNIQUE NULLS NOT DISTINCT (day, tenant_id, account_id, user_id, key_id, model)
);

-- The usage views read a tenant's days; the export and the roll-up use the unique index (day first).
CREATE INDEX usage_daily_by_tenant ON usage_daily (tenant_id, day);

-- The roll-up reads usage_events by day across tenants.
CREATE INDEX usage_events_by_time ON usage_events (created_at);

-- Only the roll-up (the system role) writes the table.
REVOKE INSERT, UPDATE, DELETE ON usage_daily FROM "${service_role}";

ALTER TABLE usage_daily ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_daily FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON usage_daily
  USING (tenant_id = atrium_current_tenant())
  WITH CHECK (tenant_id = atrium_current_tenant());
