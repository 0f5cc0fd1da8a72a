package dev.atrium.gateway.usage;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Record;
import org.jooq.Table;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;

/** The {@code usage_events} table for jOOQ, declared by hand (see src/main/sql/V12), and its batch insert. */
final class UsageTable {
  private UsageTable() {}

  static final Table<Record> USAGE_EVENTS = DSL.table(DSL.name("usage_events"));
  static final Field<UUID> USAGE_ID = DSL.field(DSL.name("usage_id"), SQLDataType.UUID);
  static final Field<OffsetDateTime> CREATED_AT = DSL.field(DSL.name("created_at"), SQLDataType.TIMESTAMPWITHTIMEZONE);
  static final Field<String> TENANT_ID = text("tenant_id");
  static final Field<String> ACCOUNT_ID = text("account_id");
  static final Field<String> USER_ID = text("user_id");
  static final Field<String> KEY_ID = text("key_id");
  static final Field<String> REQUEST_ID = text("request_id");
  static final Field<String> RUN_ID = text("run_id");
  static final Field<String> STEP = text("step");
  static final Field<String> SESSION_ID = text("session_id");
  static final Field<String> OPERATION = text("operation");
  static final Field<String> ROUTE_CLASS = text("route_class");
  static final Field<String> PROVIDER = text("provider");
  static final Field<String> MODEL = text("model");
  static final Field<String> UPSTREAM_MODEL = text("upstream_model");
  static final Field<Integer> TOKENS_IN = integer("tokens_in");
  static final Field<Integer> TOKENS_OUT = integer("tokens_out");
  static final Field<Integer> CACHED_TOKENS_IN = integer("cached_tokens_in");
  /** Migration V15. */
  static final Field<Integer> CACHE_WRITE_TOKENS_IN = integer("cache_write_tokens_in");
  static final Field<Boolean> TOKENS_COUNTED = bool("tokens_counted");
  static final Field<String> UNIT_IN = text("unit_in");
  static final Field<Long> UNITS_IN = DSL.field(DSL.name("units_in"), SQLDataType.BIGINT);
  static final Field<String> UNIT_OUT = text("unit_out");
  static final Field<Double> UNITS_OUT = DSL.field(DSL.name("units_out"), SQLDataType.DOUBLE);
  static final Field<Long> COST_MICRO_USD = DSL.field(DSL.name("cost_micro_usd"), SQLDataType.BIGINT);
  static final Field<Integer> FIRST_TOKEN_MS = integer("first_token_ms");
  static final Field<Integer> TOTAL_MS = integer("total_ms");
  static final Field<String> STATUS = text("status");
  static final Field<Boolean> BYO = bool("byo");
  static final Field<String> TIER = text("tier");
  static final Field<Boolean> CACHE_HIT = bool("cache_hit");
  /**
   * The guardrails' decisions (V16), a {@code text[]} column: bound as one text per row
   * (the decisions joined by commas, which no rule code or kind contains) and split by the
   * insert, since {@code unnest} flattens an array of arrays.
   */
  static final Field<String> GUARDRAILS = text("guardrails");

  private static final List<Field<?>> COLUMNS = List.of(USAGE_ID, CREATED_AT, TENANT_ID, ACCOUNT_ID, USER_ID, KEY_ID,
      REQUEST_ID, RUN_ID, STEP, SESSION_ID, OPERATION, ROUTE_CLASS, PROVIDER, MODEL, UPSTREAM_MODEL, TOKENS_IN,
      TOKENS_OUT, CACHED_TOKENS_IN, TOKENS_COUNTED, UNIT_IN, UNITS_IN, UNIT_OUT, UNITS_OUT, COST_MICRO_USD,
      FIRST_TOKEN_MS, TOTAL_MS, STATUS, BYO, TIER, CACHE_HIT, CACHE_WRITE_TOKENS_IN, GUARDRAILS);

  /** A recorded row: the recorder's id for it (a retried batch inserts nothing twice) and the record. */
  record Row(UUID id, UsageRecord record) {}

  /**
   * Inserts {@code rows} as one statement of one row per element of 32 arrays
   * ({@code INSERT ... SELECT u.* FROM unnest(?, ?, ...) u}): 32 bind values for the whole
   * batch, where a JDBC batch (even rewritten into multi-row inserts) binds 32 per row and
   * cost the node ~5 % of its CPU under load. The statement text is the same for every
   * batch, so PostgreSQL plans it once per connection. Rows already there (a retry after a
   * lost acknowledgement) are skipped.
   */
  static void insert(DSLContext dsl, List<Row> rows) {
    int n = rows.size();
    Object[][] columns = new Object[COLUMNS.size()][];
    for (int c = 0; c < columns.length; c++) {
      columns[c] = (Object[]) java.lang.reflect.Array.newInstance(COLUMNS.get(c).getType(), n);
    }
    for (int i = 0; i < n; i++) {
      Object[] values = values(rows.get(i));
      for (int c = 0; c < columns.length; c++) {
        columns[c][i] = values[c];
      }
    }
    List<Field<?>> arrays = new ArrayList<>(columns.length);
    for (int c = 0; c < columns.length; c++) {
      arrays.add(array(COLUMNS.get(c), columns[c]));
    }
    List<Field<?>> selected = new ArrayList<>(columns.length);
    for (Field<?> column : COLUMNS) {
      Field<?> value = DSL.field(DSL.name("u", column.getName()), column.getDataType());
      selected.add(column == GUARDRAILS ? DSL.field("string_to_array({0}, ',')", String[].class, value) : value);
    }
    String[] names = COLUMNS.stream().map(Field::getName).toArray(String[]::new);
    dsl.insertInto(USAGE_EVENTS).columns(COLUMNS)
        .select(DSL.select(selected).from(DSL.table("unnest({0})", DSL.list(arrays)).as("u", names)))
        .onConflictDoNothing()
        .execute();
  }

  /** A column's values of the batch as one typed array parameter. */
  @SuppressWarnings("unchecked")
  private static <T> Field<T[]> array(Field<T> column, Object[] values) {
    return DSL.val((T[]) values, column.getDataType().getArrayDataType());
  }

  private static Object[] values(Row row) {
    UsageRecord r = row.record();
    UsageContext c = r.context();
    return new Object[] {row.id(), r.at().atOffset(ZoneOffset.UTC), c.tenantId(), c.accountId(),
        c.userId(), c.keyId(), c.requestId(), c.runId(), c.step(), c.sessionId(), r.operation(), c.routeClass(),
        r.provider(), r.model(), r.upstreamModel(), r.tokensIn(), r.tokensOut(), r.cachedTokensIn(), r.tokensCounted(),
        r.unitIn(), r.unitsIn(), r.unitOut(), r.unitsOut(), r.costMicroUsd(), r.firstTokenMs(), r.totalMs(),
        r.status().wireName(), c.byo(), c.tier(), r.cacheHit(), r.cacheWriteTokensIn(), String.join(",", r.guardrails())};
  }

  private static Field<String> text(String name) {
    return DSL.field(DSL.name(name), SQLDataType.CLOB);
  }

  private static Field<Integer> integer(String name) {
    return DSL.field(DSL.name(name), SQLDataType.INTEGER);
  }

  private static Field<Boolean> bool(String name) {
    return DSL.field(DSL.name(name), SQLDataType.BOOLEAN);
  }
}
