-- The journal, snapshots and durable state hold every tenant's events and entity state
-- (messages, buckets, budgets) in rows without a tenant_id, so row-level security cannot
-- fence them. Only the system role (Pekko Persistence, projections, jobs) reads them; the
-- service role, which answers requests, had SELECT only through V1's default privileges.
-- RowLevelSecurityAudit fails on any table without a tenant_id that the service role can
-- read unless it is listed there with a reason.
REVOKE SELECT ON event_journal, event_tag, snapshot, durable_state FROM "${service_role}";
