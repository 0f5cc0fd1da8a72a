package dev.atrium.core.http;

import java.util.Set;

/**
 * How errors are written: RFC 9457 problem+json on native routes, OpenAI's
 * {@code {"error": {...}}} on the OpenAI-compatible routes (for every status, so the
 * official SDKs raise their usual exceptions).
 */
public enum ErrorShape {
  PROBLEM,
  OPENAI;

  private static final Set<String> OPENAI_PATHS =
      Set.of("/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/models", "/v1/moderations");

  public static ErrorShape forPath(String path) {
    String p = path.endsWith("/") && path.length() > 1 ? path.substring(0, path.length() - 1) : path;
    if (OPENAI_PATHS.contains(p) || p.startsWith("/v1/models/")) {
      return OPENAI;
    }
    return PROBLEM;
  }
}
