-- Runs as lists and supervisors need them: written by the Run projection (system role),
-- read by run lists and admin views (service role, row-level security) and by the run
-- supervisor (system role), which wakes unfinished runs after a restart and fails runs
-- stuck past their deadline.
CREATE TABLE runs (
  run_id        text        PRIMARY KEY,
  tenant_id     text        NOT NULL,
  owner_key_id  text,
  type          text        NOT NULL,
  -- queued | running | succeeded | failed | cancelled
  status        text        NOT NULL,
  progress      integer     NOT NULL DEFAULT 0,
  step          text,
  message       text,
  attempts      integer     NOT NULL DEFAULT 0,
  error         text,
  created_at    timestamptz NOT NULL,
  started_at    timestamptz,
  ended_at      timestamptz,
  deadline_at   timestamptz NOT NULL
);

CREATE INDEX runs_by_tenant ON runs (tenant_id, created_at DESC, run_id DESC);
CREATE INDEX runs_by_owner ON runs (tenant_id, owner_key_id, created_at DESC, run_id DESC);
-- The supervisor's scan: unfinished runs only.
CREATE INDEX runs_unfinished ON runs (deadline_at) WHERE status IN ('queued', 'running');

ALTER TABLE runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE runs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON runs
  USING (tenant_id = atrium_current_tenant())
  WITH CHECK (tenant_id = atrium_current_tenant());
