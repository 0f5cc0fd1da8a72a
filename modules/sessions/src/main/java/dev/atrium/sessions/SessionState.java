package dev.atrium.sessions;

import dev.atrium.core.JsonSerializable;
import dev.atrium.core.tenant.Owner;
import dev.atrium.gateway.ChatMessage;
import dev.atrium.gateway.Tokens;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

/**
 * A chat session's state: its metadata, the messages it keeps, the turn in flight and the
 * recent idempotency keys. Immutable; every change returns a new state.
 */
public record SessionState(
    Optional<Meta> meta,
    Instant lastActive,
    List<Message> messages,
    Optional<Turn> inFlight,
    List<KeyedTurn> recentKeys,
    long tokensIn,
    long tokensOut,
    long droppedMessages,
    Status status,
    int contextTokens) implements JsonSerializable {

  static final int RECENT_KEYS = 64;

  public enum Status { NEW, ACTIVE, CLOSED, EXPIRED }

  /** {@code systemPromptTokens}: the system prompt counted once, when the session was created. */
  public record Meta(Instant createdAt, Owner owner, String title, String model, String systemPrompt, Boolean rag,
      int systemPromptTokens) implements JsonSerializable {}

  /**
   * One message of the session: the {@link ChatMessage} as the client sent it or the model
   * answered it (it goes to the provider as it is), with the session's bookkeeping.
   * {@code interrupted}: the answer stopped early (client left, provider failed, the turn's
   * lease expired) and holds what was generated until then. {@code tokens}: the message's
   * text counted once, when it was added.
   */
  public record Message(String id, ChatMessage message, Instant createdAt, int tokens, boolean interrupted,
      String turnId) implements JsonSerializable {

    public String role() {
      return message.role();
    }

    /** The text (empty for a message without any). */
    public String content() {
      return message.text();
    }

    /** Whether it goes into later prompts: an empty interrupted answer does not. */
    boolean prompted() {
      return !message.text().isEmpty() || !message.toolCalls().isEmpty() || message.extra() != null;
    }

    /** What it adds to a prompt: its text and the per-message overhead (role and framing). */
    int promptCost() {
      return prompted() ? Tokens.MESSAGE_OVERHEAD + tokens : 0;
    }
  }

  /** The turn in flight: the user message is recorded, the answer is being generated. */
  public record Turn(String turnId, String userMessageId, String assistantMessageId, String model,
      Instant startedAt, Instant leaseUntil, String idempotencyKey) implements JsonSerializable {}

  /** An Idempotency-Key and the turn it produced. */
  public record KeyedTurn(String key, String turnId) implements JsonSerializable {}

  /** A prompt: the messages in order and what they cost in tokens. */
  record Context(List<ChatMessage> messages, int promptTokens) {}

  static final SessionState EMPTY = new SessionState(Optional.empty(), Instant.EPOCH, List.of(), Optional.empty(),
      List.of(), 0, 0, 0, Status.NEW, 0);

  public SessionState {
    messages = List.copyOf(messages);
    recentKeys = List.copyOf(recentKeys);
  }

  boolean active() {
    return status == Status.ACTIVE;
  }

  boolean isNew() {
    return status == Status.NEW;
  }

  /** Closed or expired: it serves nothing any more. */
  boolean ended() {
    return status == Status.CLOSED || status == Status.EXPIRED;
  }

  SessionState created(Meta meta) {
    return new SessionState(Optional.of(meta), meta.createdAt(), messages, inFlight, recentKeys, tokensIn, tokensOut,
        droppedMessages, Status.ACTIVE, contextTokens);
  }

  SessionState turnStarted(Turn turn, Message userMessage) {
    List<KeyedTurn> keys = recentKeys;
    if (turn.idempotencyKey() != null) {
      List<KeyedTurn> next = new ArrayList<>(recentKeys);
      next.add(new KeyedTurn(turn.idempotencyKey(), turn.turnId()));
      keys = next.size() > RECENT_KEYS ? next.subList(next.size() - RECENT_KEYS, next.size()) : next;
    }
    return new SessionState(meta, userMessage.createdAt(), append(userMessage), Optional.of(turn), keys, tokensIn,
        tokensOut, droppedMessages, status, contextTokens + userMessage.promptCost());
  }

  SessionState leaseRenewed(String turnId, Instant leaseUntil) {
    Optional<Turn> renewed = inFlight.filter(t -> t.turnId().equals(turnId))
        .map(t -> new Turn(t.turnId(), t.userMessageId(), t.assistantMessageId(), t.model(), t.startedAt(), leaseUntil,
            t.idempotencyKey()));
    return new SessionState(meta, lastActive, messages, renewed.isPresent() ? renewed : inFlight, recentKeys, tokensIn,
        tokensOut, droppedMessages, status, contextTokens);
  }

  SessionState turnEnded(Message assistantMessage, int promptTokens, int completionTokens) {
    return new SessionState(meta, assistantMessage.createdAt(), append(assistantMessage), Optional.empty(), recentKeys,
        tokensIn + promptTokens, tokensOut + completionTokens, droppedMessages, status,
        contextTokens + assistantMessage.promptCost());
  }

  SessionState trimmed(int count) {
    int drop = Math.min(count, messages.size());
    int dropped = 0;
    for (int i = 0; i < drop; i++) {
      dropped += messages.get(i).promptCost();
    }
    return new SessionState(meta, lastActive, messages.subList(drop, messages.size()), inFlight, recentKeys, tokensIn,
        tokensOut, droppedMessages + drop, status, contextTokens - dropped);
  }

  SessionState ended(Status status, Instant at) {
    return new SessionState(meta, at, messages, Optional.empty(), recentKeys, tokensIn, tokensOut, droppedMessages,
        status, contextTokens);
  }

  private List<Message> append(Message message) {
    List<Message> next = new ArrayList<>(messages.size() + 1);
    next.addAll(messages);
    next.add(message);
    return next;
  }

  Optional<String> turnForKey(String key) {
    return recentKeys.stream().filter(k -> k.key().equals(key)).map(KeyedTurn::turnId).reduce((a, b) -> b);
  }

  Optional<Message> message(String turnId, String role) {
    return messages.stream().filter(m -> turnId.equals(m.turnId()) && role.equals(m.role())).findFirst();
  }

  /**
   * The prompt for a turn: the system prompt, then as much of the history (newest first)
   * as fits the context window in tokens, oldest first, ending with the new user message,
   * which is always included. Empty interrupted answers are left out. Nothing is counted
   * again: each message was counted when it was added, and {@link #contextTokens} is their
   * running total, so a history that fits whole is taken without adding anything up.
   */
  Context context(int contextWindowTokens) {
    String systemPrompt = meta.map(Meta::systemPrompt).filter(p -> !p.isBlank()).orElse(null);
    int systemTokens = meta.map(Meta::systemPromptTokens).orElse(0);
    int systemCost = systemPrompt == null ? 0 : Tokens.MESSAGE_OVERHEAD + systemTokens;
    int budget = contextWindowTokens - systemTokens;
    List<ChatMessage> picked = new ArrayList<>(messages.size() + 1);
    int used;
    if (contextTokens <= budget) {
      for (Message m : messages) {
        if (m.prompted()) {
          picked.add(m.message());
        }
      }
      used = contextTokens;
    } else {
      used = 0;
      for (int i = messages.size() - 1; i >= 0; i--) {
        Message m = messages.get(i);
        if (!m.prompted()) {
          continue;
        }
        if (!picked.isEmpty() && m.promptCost() > budget - used) {
          break;
        }
        used += m.promptCost();
        picked.add(m.message());
      }
      Collections.reverse(picked);
    }
    if (systemPrompt != null) {
      picked.add(0, ChatMessage.system(systemPrompt));
    }
    return new Context(picked, Tokens.prompt(systemCost + used));
  }
}
