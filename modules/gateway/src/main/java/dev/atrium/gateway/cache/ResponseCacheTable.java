package dev.atrium.gateway.cache;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.atrium.core.Json;
import dev.atrium.core.db.Database;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.jooq.Field;
import org.jooq.JSONB;
import org.jooq.Record;
import org.jooq.Table;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;

/**
 * The shared tier of the response cache: the {@code response_cache} table (see
 * src/main/sql/V14), declared by hand for jOOQ, read and written as the service role in the
 * key's tenant (row-level security is the second fence), on the database dispatcher.
 */
final class ResponseCacheTable implements ResponseCache.Store {
  static final Table<Record> RESPONSE_CACHE = DSL.table(DSL.name("response_cache"));
  static final Field<String> TENANT_ID = DSL.field(DSL.name("tenant_id"), SQLDataType.CLOB);
  static final Field<byte[]> CACHE_KEY = DSL.field(DSL.name("cache_key"), SQLDataType.BLOB);
  static final Field<String> MODEL = DSL.field(DSL.name("model"), SQLDataType.CLOB);
  static final Field<JSONB> ANSWER = DSL.field(DSL.name("answer"), SQLDataType.JSONB);
  static final Field<OffsetDateTime> EXPIRES_AT =
      DSL.field(DSL.name("expires_at"), SQLDataType.TIMESTAMPWITHTIMEZONE);

  private final Database database;

  ResponseCacheTable(Database database) {
    this.database = database;
  }

  /** The key's answer, unless there is none or it has expired. */
  @Override
  public CompletionStage<Optional<ResponseCache.Entry>> read(CacheKey key) {
    return database.inTenant(key.tenantId(), dsl -> dsl.select(ANSWER, EXPIRES_AT).from(RESPONSE_CACHE)
        .where(Database.tenantIs(TENANT_ID, key.tenantId()))
        .and(CACHE_KEY.eq(key.bytes()))
        .and(EXPIRES_AT.gt(DSL.currentOffsetDateTime()))
        .fetchOptional()
        .map(row -> new ResponseCache.Entry(parse(row.get(ANSWER)), row.get(EXPIRES_AT).toInstant())));
  }

  /** Stores the key's answer until {@code expiresAt}, replacing what was there. */
  @Override
  public CompletionStage<Integer> write(CacheKey key, ResponseCache.Entry entry) {
    JSONB answer = JSONB.valueOf(json(entry.answer()));
    OffsetDateTime expires = entry.expiresAt().atOffset(ZoneOffset.UTC);
    return database.inTenant(key.tenantId(), dsl -> dsl.insertInto(RESPONSE_CACHE)
        .columns(TENANT_ID, CACHE_KEY, MODEL, ANSWER, EXPIRES_AT)
        .values(key.tenantId(), key.bytes(), key.model(), answer, expires)
        .onConflict(TENANT_ID, CACHE_KEY).doUpdate()
        .set(MODEL, DSL.excluded(MODEL))
        .set(ANSWER, DSL.excluded(ANSWER))
        .set(EXPIRES_AT, DSL.excluded(EXPIRES_AT))
        .set(DSL.field(DSL.name("created_at"), SQLDataType.TIMESTAMPWITHTIMEZONE), DSL.currentOffsetDateTime())
        .execute());
  }

  private static String json(CachedAnswer answer) {
    try {
      return Json.MAPPER.writeValueAsString(answer);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static CachedAnswer parse(JSONB answer) {
    try {
      return Json.MAPPER.readValue(answer.data(), CachedAnswer.class);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a response_cache row is not a cached answer", e);
    }
  }

  /** Deletes expired rows across tenants (the prune job, as the system role): how many. */
  static long prune(org.jooq.DSLContext system) {
    return system.deleteFrom(RESPONSE_CACHE).where(EXPIRES_AT.le(DSL.currentOffsetDateTime())).execute();
  }
}
