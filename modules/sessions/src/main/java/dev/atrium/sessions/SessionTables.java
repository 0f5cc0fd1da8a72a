package dev.atrium.sessions;

import java.time.OffsetDateTime;
import org.jooq.Field;
import org.jooq.Record;
import org.jooq.Table;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;

/** The {@code chat_sessions} table for jOOQ, declared by hand (see src/main/sql/V4, V17). */
final class SessionTables {
  private SessionTables() {}

  static final Table<Record> CHAT_SESSIONS = DSL.table(DSL.name("chat_sessions"));
  static final Field<String> TENANT_ID = DSL.field(DSL.name("tenant_id"), SQLDataType.CLOB);
  static final Field<String> SESSION_ID = DSL.field(DSL.name("session_id"), SQLDataType.CLOB);
  /** {@code user} or {@code key} (see src/main/sql/V17). */
  static final Field<String> OWNER_KIND = DSL.field(DSL.name("owner_kind"), SQLDataType.CLOB);
  static final Field<String> OWNER_ID = DSL.field(DSL.name("owner_id"), SQLDataType.CLOB);
  static final Field<String> TITLE = DSL.field(DSL.name("title"), SQLDataType.CLOB);
  static final Field<String> MODEL = DSL.field(DSL.name("model"), SQLDataType.CLOB);
  static final Field<OffsetDateTime> CREATED_AT = DSL.field(DSL.name("created_at"), SQLDataType.TIMESTAMPWITHTIMEZONE);
  static final Field<OffsetDateTime> LAST_ACTIVE_AT = DSL.field(DSL.name("last_active_at"), SQLDataType.TIMESTAMPWITHTIMEZONE);
  static final Field<Integer> MESSAGE_COUNT = DSL.field(DSL.name("message_count"), SQLDataType.INTEGER);
  static final Field<Long> TOKENS_IN = DSL.field(DSL.name("tokens_in"), SQLDataType.BIGINT);
  static final Field<Long> TOKENS_OUT = DSL.field(DSL.name("tokens_out"), SQLDataType.BIGINT);
  static final Field<String> STATUS = DSL.field(DSL.name("status"), SQLDataType.CLOB);
}
