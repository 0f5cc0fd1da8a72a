package dev.atrium.core.db;

import com.typesafe.config.Config;

/**
 * Where the database is and which roles Atrium uses on it (DESIGN.md §2).
 *
 * @param url JDBC URL of the Atrium database
 * @param ownerUser the role that runs migrations and owns the tables
 * @param serviceUser the role that answers requests; subject to row-level security
 * @param systemUser the role of the journal, projections and system jobs; bypasses RLS
 */
public record DatabaseSettings(
    String url,
    String ownerUser,
    String ownerPassword,
    String serviceUser,
    String servicePassword,
    String systemUser,
    String systemPassword,
    int servicePoolSize) {

  public static DatabaseSettings fromConfig(Config config) {
    Config db = config.getConfig("atrium.database");
    return new DatabaseSettings(
        db.getString("url"),
        db.getString("owner-user"),
        db.getString("owner-password"),
        db.getString("service-user"),
        db.getString("service-password"),
        db.getString("system-user"),
        db.getString("system-password"),
        db.getInt("service-pool-size"));
  }

  /** The database name, the last path segment of the URL (for grants in migrations). */
  public String databaseName() {
    String withoutParams = url.contains("?") ? url.substring(0, url.indexOf('?')) : url;
    return withoutParams.substring(withoutParams.lastIndexOf('/') + 1);
  }

  @Override
  public String toString() {
    // Never print passwords.
    return "DatabaseSettings[url=" + url + ", owner=" + ownerUser + ", service=" + serviceUser
        + ", system=" + systemUser + "]";
  }
}
