package dev.atrium.core.http;

import java.util.Set;

/**
 * How errors are written: RFC 9457 problem+json on native routes, OpenAI's
 * {@code {"error": {...}}} on the OpenAI-compatible routes and Anthropic's
 * {@code {"type": "error", "error": {...}}} on the Anthropic-compatible ones (for every
 * status, so the official SDKs raise their usual exceptions).
 */
public enum ErrorShape {
  PROBLEM,
  OPENAI,
  ANTHROPIC;

  private static final Set<String> OPENAI_PATHS =
      Set.of("/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/models", "/v1/moderations");

  private static final Set<String> ANTHROPIC_PATHS = Set.of("/v1/messages", "/v1/messages/count_tokens");

  public static ErrorShape forPath(String path) {
    String p = path.endsWith("/") && path.length() > 1 ? path.substring(0, path.length() - 1) : path;
    if (ANTHROPIC_PATHS.contains(p)) {
      return ANTHROPIC;
    }
    if (OPENAI_PATHS.contains(p) || p.startsWith("/v1/models/")) {
      return OPENAI;
    }
    return PROBLEM;
  }
}
