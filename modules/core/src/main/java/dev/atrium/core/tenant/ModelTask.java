package dev.atrium.core.tenant;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The call sites that ask the gateway for a chat model, each of which a tenant can pin to a
 * model of its own ({@code models.tasks}) over its {@code default_model}: a cheap, fast model
 * for the light work (rewriting a query, suggesting follow-ups) and a stronger one for the
 * answers. Their names are the {@code operation} of the usage rows they write.
 */
public enum ModelTask {
  /** A chat session's model when neither the session nor the turn names one. */
  @JsonProperty("chat") CHAT,
  /** Search: the question rewritten as a query for the index. */
  @JsonProperty("search_rewrite") SEARCH_REWRITE,
  /** Search: the answer from the retrieved passages. */
  @JsonProperty("search_answer") SEARCH_ANSWER,
  /** Search: three follow-up questions. */
  @JsonProperty("search_follow_ups") SEARCH_FOLLOW_UPS,
  /** A batch run's prompt when the run's input names no model. */
  @JsonProperty("run_prompt") RUN_PROMPT;

  /** The name in tenant files and usage rows. */
  public String wireName() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
