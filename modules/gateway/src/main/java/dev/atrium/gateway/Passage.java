package dev.atrium.gateway;

import dev.atrium.core.JsonSerializable;

/**
 * A retrieved passage a model answers from, numbered as the answer cites it ([1], [2]...).
 */
public record Passage(int index, String docId, String chunkId, String source, String text, double score)
    implements JsonSerializable {}
