package dev.atrium.core.db;

import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * One service-role {@link Database} per actor system, opened from {@code atrium.database}
 * on first use and closed when the system terminates. Any module reaches it with
 * {@code DatabaseExtension.get(system).database()}.
 */
public final class DatabaseExtension implements Extension {
  private static final ExtensionId<DatabaseExtension> ID = new ExtensionId<>() {
    @Override
    public DatabaseExtension createExtension(ActorSystem<?> system) {
      return new DatabaseExtension(system);
    }
  };

  private final Database database;
  private final DatabaseSettings settings;

  private DatabaseExtension(ActorSystem<?> system) {
    this.settings = DatabaseSettings.fromConfig(system.settings().config());
    this.database = Database.open(system, settings);
    system.getWhenTerminated().thenRun(database::close);
  }

  public static DatabaseExtension get(ActorSystem<?> system) {
    return system.registerExtension(ID);
  }

  public Database database() {
    return database;
  }

  public DatabaseSettings settings() {
    return settings;
  }
}
