-- Tokens of a prompt the provider wrote to its prompt cache (Anthropic's
-- cache_creation_input_tokens), part of tokens_in like cached_tokens_in (the part read from
-- it), and priced apart (atrium.usage.prices.<model>.cache-write-input). Rows written before
-- this column existed, and every call of a provider without cache writes, hold 0.
ALTER TABLE usage_events ADD COLUMN cache_write_tokens_in integer NOT NULL DEFAULT 0;

-- The daily roll-up sums them like the other tokens (the usage views and the export show them).
-- The roll-up replaces the days it rolls up, so days rolled up before hold 0 until rolled up again.
ALTER TABLE usage_daily ADD COLUMN cache_write_tokens_in bigint NOT NULL DEFAULT 0;
