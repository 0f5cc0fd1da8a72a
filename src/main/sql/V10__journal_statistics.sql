-- Statistics for a young journal. The projections poll eventsByTag (event_journal joined
-- with event_tag) through server-side prepared statements, and PostgreSQL caches a generic
-- plan for them after five executions. On a fresh database that plan is made while the
-- tables are empty (V9 even analysed event_tag empty), and it reads all of event_tag on
-- every poll (the plugin's own query: once for every new event). Nothing replans it until
-- an ANALYZE of those tables, and autovacuum comes round at most once a minute
-- (autovacuum_naptime): in that first minute or two each poll grew to tens of milliseconds
-- and PostgreSQL's CPU per persisted turn was 5-10 times its warm figure
-- (docs/benchmarks.md, "issue 13: sessions").
--
-- A plan made after an ANALYZE of a thousand rows or more reads only the tag's new rows
-- (the node's eventsByTag, TagRangeReadJournalDao, bounds event_tag.event_id: a range of
-- V9's index) and keeps doing so as the tables grow a hundredfold; one made on a few
-- hundred rows scans event_tag, then a few pages. So while the tables are young this
-- analyses each one when it has doubled since its last analysis (from 200 rows on), which
-- replans every cached statement on it; later autovacuum's own thresholds (10 % of the
-- table) come first and this finds nothing to do. The node calls it every few seconds
-- (JournalStatistics, as the system role); ANALYZE needs the tables' owner, hence
-- SECURITY DEFINER.
CREATE OR REPLACE FUNCTION atrium_refresh_journal_statistics() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  young record;
  analysed integer := 0;
BEGIN
  FOR young IN
    SELECT s.relname
      FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
     WHERE s.schemaname = 'public' AND s.relname IN ('event_journal', 'event_tag')
       AND s.n_mod_since_analyze >= 200
       AND s.n_mod_since_analyze >= greatest(c.reltuples, 0)
  LOOP
    EXECUTE format('ANALYZE %I', young.relname);
    analysed := analysed + 1;
  END LOOP;
  RETURN analysed;
END
$$;

REVOKE ALL ON FUNCTION atrium_refresh_journal_statistics() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION atrium_refresh_journal_statistics() TO "${system_role}";
