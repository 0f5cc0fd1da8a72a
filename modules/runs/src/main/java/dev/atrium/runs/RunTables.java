package dev.atrium.runs;

import java.time.OffsetDateTime;
import org.jooq.Field;
import org.jooq.Record;
import org.jooq.Table;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;

/** The {@code runs} table for jOOQ, declared by hand (see src/main/sql/V5, V17). */
final class RunTables {
  private RunTables() {}

  static final Table<Record> RUNS = DSL.table(DSL.name("runs"));
  static final Field<String> RUN_ID = DSL.field(DSL.name("run_id"), SQLDataType.CLOB);
  static final Field<String> TENANT_ID = DSL.field(DSL.name("tenant_id"), SQLDataType.CLOB);
  /** {@code user} or {@code key} (see src/main/sql/V17). */
  static final Field<String> OWNER_KIND = DSL.field(DSL.name("owner_kind"), SQLDataType.CLOB);
  static final Field<String> OWNER_ID = DSL.field(DSL.name("owner_id"), SQLDataType.CLOB);
  static final Field<String> TYPE = DSL.field(DSL.name("type"), SQLDataType.CLOB);
  static final Field<String> STATUS = DSL.field(DSL.name("status"), SQLDataType.CLOB);
  static final Field<Integer> PROGRESS = DSL.field(DSL.name("progress"), SQLDataType.INTEGER);
  static final Field<String> STEP = DSL.field(DSL.name("step"), SQLDataType.CLOB);
  static final Field<String> MESSAGE = DSL.field(DSL.name("message"), SQLDataType.CLOB);
  static final Field<Integer> ATTEMPTS = DSL.field(DSL.name("attempts"), SQLDataType.INTEGER);
  static final Field<String> ERROR = DSL.field(DSL.name("error"), SQLDataType.CLOB);
  static final Field<OffsetDateTime> CREATED_AT = DSL.field(DSL.name("created_at"), SQLDataType.TIMESTAMPWITHTIMEZONE);
  static final Field<OffsetDateTime> STARTED_AT = DSL.field(DSL.name("started_at"), SQLDataType.TIMESTAMPWITHTIMEZONE);
  static final Field<OffsetDateTime> ENDED_AT = DSL.field(DSL.name("ended_at"), SQLDataType.TIMESTAMPWITHTIMEZONE);
  static final Field<OffsetDateTime> DEADLINE_AT = DSL.field(DSL.name("deadline_at"), SQLDataType.TIMESTAMPWITHTIMEZONE);
}
