-- Guardrail decisions of each metered call (issue 16; dev.atrium.gateway.guard.Guards):
-- what the tenant's guardrails did, one entry per decision, e.g. 'block:input:weapons',
-- 'redact:input:email', 'redact:output:card', 'block:output:secrets'. Rule codes and PII
-- kinds only, never the matched text. Empty for a call no guardrail touched (most calls).
ALTER TABLE usage_events ADD COLUMN guardrails text[] NOT NULL DEFAULT '{}';
