-- One row per model call (DESIGN.md §2, §4): written by the usage recorder of every node in
-- batches, as the system role, off the request path; read by usage views and exports (the
-- service role, under row-level security) and by the daily roll-up (a system job).
--
-- usage_id is the recorder's own id for the row: a batch retried after a lost
-- acknowledgement inserts nothing twice (ON CONFLICT DO NOTHING).
CREATE TABLE usage_events (
  usage_id          uuid             PRIMARY KEY,
  created_at        timestamptz      NOT NULL,
  tenant_id         text             NOT NULL,
  account_id        text,
  -- the user of a JWT, when there is one (none yet: keys only)
  user_id           text,
  key_id            text,
  -- the HTTP request's id (x-request-id); null for work a run does later
  request_id        text,
  -- work done by a run: its id and step ("answer/3": step answer, sub-step 3)
  run_id            text,
  step              text,
  session_id        text,
  -- chat | embedding | search_rewrite | search_answer | search_follow_ups | run_prompt
  operation         text             NOT NULL,
  route_class       text             NOT NULL,
  provider          text             NOT NULL,
  -- the tenant's model name, and what the provider was asked for
  model             text             NOT NULL,
  upstream_model    text             NOT NULL,
  tokens_in         integer          NOT NULL DEFAULT 0,
  tokens_out        integer          NOT NULL DEFAULT 0,
  cached_tokens_in  integer          NOT NULL DEFAULT 0,
  -- true: counted with the tokenizer (the provider reported none: local model, a stream
  -- cut short, embeddings); false: the provider's own figures
  tokens_counted    boolean          NOT NULL,
  -- other media than tokens, e.g. speech: unit_in 'characters', unit_out 'seconds'
  unit_in           text,
  units_in          bigint,
  unit_out          text,
  units_out         double precision,
  -- from the price table of the server config; null when the model has no price
  cost_micro_usd    bigint,
  first_token_ms    integer,
  total_ms          integer          NOT NULL,
  -- ok | failed | cancelled | timed_out
  status            text             NOT NULL,
  -- a bring-your-own key paid for the call (not built yet: always false)
  byo               boolean          NOT NULL DEFAULT false,
  tier              text,
  cache_hit         boolean          NOT NULL DEFAULT false
);

CREATE INDEX usage_events_by_tenant ON usage_events (tenant_id, created_at);
CREATE INDEX usage_events_by_run ON usage_events (run_id) WHERE run_id IS NOT NULL;

-- Rows are facts: the service role reads them and never rewrites them.
REVOKE UPDATE, DELETE ON usage_events FROM "${service_role}";

ALTER TABLE usage_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON usage_events
  USING (tenant_id = atrium_current_tenant())
  WITH CHECK (tenant_id = atrium_current_tenant());
