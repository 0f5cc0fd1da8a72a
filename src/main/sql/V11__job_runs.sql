-- Every run of a scheduled job (core's JobScheduler). A run's identity is its job and the
-- slot of the schedule it is for: the scheduler claims a slot by inserting its row (ON
-- CONFLICT DO NOTHING) before it runs anything, so two nodes, a singleton moving between
-- nodes, a restart or a manual trigger (which claims the job's next slot) never run one
-- slot twice. A system table: written and read by the system role only (scheduler and
-- admin routes), like the journal; it holds no tenant data.
CREATE TABLE job_runs (
  job           text        NOT NULL,
  scheduled_for timestamptz NOT NULL,
  -- schedule | catch_up | manual
  trigger       text        NOT NULL,
  -- the cluster address of the node that ran it
  node          text        NOT NULL,
  started_at    timestamptz NOT NULL,
  ended_at      timestamptz,
  -- running | succeeded | failed | interrupted (its node stopped while it ran)
  outcome       text        NOT NULL,
  -- what the run did, by name: {"chunks": 3, "documents": 1}
  counts        jsonb       NOT NULL DEFAULT '{}',
  error         text,
  PRIMARY KEY (job, scheduled_for)
);

-- "The last run" of each job for GET /admin/jobs.
CREATE INDEX job_runs_latest ON job_runs (job, started_at DESC);

REVOKE ALL ON job_runs FROM "${service_role}";
