package dev.atrium.gateway.usage;

import static dev.atrium.gateway.usage.UsageDailyTable.DAY;
import static dev.atrium.gateway.usage.UsageDailyTable.USAGE_DAILY;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.zaxxer.hikari.HikariDataSource;
import dev.atrium.core.Json;
import dev.atrium.core.db.Database;
import dev.atrium.core.http.ApiError;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.LocalDate;
import java.util.Optional;
import org.apache.commons.csv.CSVFormat;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.stream.ActorAttributes;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.jooq.Cursor;
import org.jooq.Field;
import org.jooq.Record;

/**
 * The {@code usage_daily} rows of one day for every tenant, as NDJSON (one object per line,
 * the table's snake_case columns: BigQuery loads it as is) or CSV (a header row, then one
 * record per row), streamed from a database cursor: rows are read as the client takes them.
 * Across tenants, so as the system role, on a small pool of its own (a slow download never
 * holds a connection that projections or the recorder need).
 */
final class UsageExport {
  static final ContentType NDJSON = ContentTypes.create(
      MediaTypes.applicationWithFixedCharset("x-ndjson", HttpCharsets.UTF_8, "ndjson"));
  static final ContentType CSV = ContentTypes.create(MediaTypes.TEXT_CSV, HttpCharsets.UTF_8);
  private static final CSVFormat CSV_FORMAT = CSVFormat.DEFAULT;
  private static final int FETCH_SIZE = 500;

  /** The {@code format} parameter. */
  enum Format {
    NDJSON, CSV;

    static Format parse(Optional<String> value) {
      return switch (value.orElse("")) {
        case "ndjson" -> NDJSON;
        case "csv" -> CSV;
        default -> throw ApiError.badRequest("invalid_parameter", "format must be ndjson or csv")
            .withExtension("param", "format");
      };
    }

    ContentType contentType() {
      return this == NDJSON ? UsageExport.NDJSON : UsageExport.CSV;
    }
  }

  private final HikariDataSource pool;
  private final String dispatcher;

  UsageExport(HikariDataSource pool, String dispatcher) {
    this.pool = pool;
    this.dispatcher = dispatcher;
  }

  /** The day's rows in {@code format}: the CSV header first, then one line per row. */
  Source<ByteString, NotUsed> export(LocalDate day, Format format) {
    Source<ByteString, NotUsed> lines = rows(day).map(r -> format == Format.NDJSON ? ndjson(r) : csv(r));
    return format == Format.CSV ? Source.single(csvHeader()).concat(lines) : lines;
  }

  /** The rows, read on the database dispatcher; the connection is returned however the stream ends. */
  private Source<Record, NotUsed> rows(LocalDate day) {
    return Source.<Record, DayCursor>unfoldResource(() -> new DayCursor(pool.getConnection(), day),
            DayCursor::next, DayCursor::close)
        .withAttributes(ActorAttributes.dispatcher(dispatcher));
  }

  static ByteString ndjson(Record r) {
    ObjectNode line = Json.MAPPER.createObjectNode();
    for (Field<?> f : UsageDailyTable.COLUMNS) {
      line.putPOJO(f.getName(), r.get(f));
    }
    try {
      return ByteString.fromArrayUnsafe(Json.MAPPER.writeValueAsBytes(line)).concat(ByteString.fromString("\n"));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("usage rows are plain data", e);
    }
  }

  static ByteString csvHeader() {
    return ByteString.fromString(CSV_FORMAT.format(UsageDailyTable.COLUMNS.stream().map(Field::getName).toArray())
        + CSV_FORMAT.getRecordSeparator());
  }

  static ByteString csv(Record r) {
    return ByteString.fromString(CSV_FORMAT.format(UsageDailyTable.COLUMNS.stream().map(r::get).toArray())
        + CSV_FORMAT.getRecordSeparator());
  }

  /**
   * A read-only transaction's cursor over one day's rows (the PostgreSQL driver fetches rows
   * in batches only outside auto-commit).
   */
  private static final class DayCursor {
    private final Connection connection;
    private final Cursor<Record> cursor;

    DayCursor(Connection connection, LocalDate day) throws SQLException {
      this.connection = connection;
      try {
        connection.setAutoCommit(false);
        connection.setReadOnly(true);
        this.cursor = Database.dsl(connection).select(UsageDailyTable.COLUMNS).from(USAGE_DAILY)
            .where(DAY.eq(day))
            .orderBy(UsageTable.TENANT_ID, UsageTable.ACCOUNT_ID.asc().nullsFirst(),
                UsageTable.USER_ID.asc().nullsFirst(), UsageTable.KEY_ID.asc().nullsFirst(), UsageTable.MODEL)
            .fetchSize(FETCH_SIZE).fetchLazy();
      } catch (RuntimeException | SQLException e) {
        connection.close();
        throw e;
      }
    }

    Optional<Record> next() {
      return cursor.hasNext() ? Optional.of(cursor.fetchNext()) : Optional.empty();
    }

    /** Hikari resets auto-commit and read-only when the connection goes back. */
    void close() throws SQLException {
      try {
        cursor.close();
        connection.rollback();
      } finally {
        connection.close();
      }
    }
  }
}
