-- Projections read the journal by tag: pekko-persistence-jdbc's eventsByTag query filters
-- event_tag on the tag and a range of event ids. Its schema indexes event_tag only by
-- (event_id, tag), so PostgreSQL scanned all of event_tag on every poll of every projection
-- instance (each polls every 200 ms) until its statistics caught up; measured in
-- ./atrium bench sessions (docs/benchmarks.md). Not CONCURRENTLY: Flyway holds a transaction
-- open while it migrates, which CREATE INDEX CONCURRENTLY would wait on forever.
CREATE INDEX IF NOT EXISTS event_tag_tag_event_id_idx ON event_tag (tag, event_id);
ANALYZE event_tag;
