package dev.atrium.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** A whole answer: its text, the upstream's message object, why it stopped, and usage. */
public record ChatResult(String content, ObjectNode message, String finishReason, ChatEvent.Usage usage) {}
