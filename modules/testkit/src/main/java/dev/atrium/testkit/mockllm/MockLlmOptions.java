package dev.atrium.testkit.mockllm;

import dev.atrium.testkit.MockLlm.Behaviour;
import java.time.Duration;

/** The standalone mock's command line: {@code --port N [--host H] [--chunks N] [--delay-ms D] [--first-token-delay-ms D]}. */
public record MockLlmOptions(String host, int port, Behaviour behaviour) {

  public static final String USAGE = "usage: mock-llm --port N [--host 127.0.0.1] [--chunks N]"
      + " [--delay-ms D] [--first-token-delay-ms D]";

  /** Throws IllegalArgumentException naming the flag, for main to print with the usage line. */
  public static MockLlmOptions parse(String... args) {
    String host = "127.0.0.1";
    int port = 0;
    Behaviour behaviour = Behaviour.defaults();
    for (int i = 0; i < args.length; i++) {
      String flag = args[i];
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException(flag + " needs a value");
      }
      String value = args[++i];
      switch (flag) {
        case "--host" -> host = value;
        case "--port" -> port = number(flag, value, 0, 65535);
        case "--chunks" -> behaviour = behaviour.withChunks(number(flag, value, 0, Integer.MAX_VALUE));
        case "--delay-ms" -> behaviour = behaviour.withChunkDelay(millis(flag, value));
        case "--first-token-delay-ms" -> behaviour = behaviour.withFirstTokenDelay(millis(flag, value));
        default -> throw new IllegalArgumentException("unknown option " + flag);
      }
    }
    return new MockLlmOptions(host, port, behaviour);
  }

  private static Duration millis(String flag, String value) {
    return Duration.ofMillis(number(flag, value, 0, Integer.MAX_VALUE));
  }

  private static int number(String flag, String value, int min, int max) {
    int n;
    try {
      n = Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(flag + " must be a number, not '" + value + "'");
    }
    if (n < min || n > max) {
      throw new IllegalArgumentException(flag + " must be between " + min + " and " + max);
    }
    return n;
  }
}
