-- Tokens of a prompt the provider wrote to its prompt cache (Anthropic's
-- cache_creation_input_tokens), part of tokens_in like cached_tokens_in (the part read from
-- it), and priced apart (atrium.usage.prices.<model>.cache-write-input). Rows written before
-- this column existed, and every call of a provider without cache writes, hold 0.
ALTER TABLE usage_events ADD COLUMN cache_write_tokens_in integer NOT NULL DEFAULT 0;
