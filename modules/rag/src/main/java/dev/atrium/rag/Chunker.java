package dev.atrium.rag;

import dev.atrium.core.JsonSerializable;
import dev.atrium.core.tenant.ApiKeys;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToIntFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits markdown (every extractor produces it) into chunks of at most {@code maxTokens}
 * word-pieces, keeping each chunk's heading path ("Guide > Install > Linux"). A heading
 * starts a new chunk, so chunks never mix sections; paragraphs are packed whole when they
 * fit, long ones split at sentences, and consecutive chunks of a section share up to
 * {@code overlapTokens} of trailing sentences so a fact cut by a boundary is found whole.
 */
public final class Chunker {
  private static final Pattern HEADING = Pattern.compile("^(#{1,6})\\s+(.*?)\\s*#*\\s*$");
  private static final Pattern SENTENCE = Pattern.compile("[^.!?\\n]+(?:[.!?]+[\"')\\]]*|$)\\s*");

  private final ToIntFunction<String> tokens;
  private final int maxTokens;
  private final int overlapTokens;

  /** One chunk: its text, position in the document, heading path and the SHA-256 of its text. */
  public record Chunk(String id, int position, String text, String headingPath, String textHash)
      implements JsonSerializable {}

  public Chunker(ToIntFunction<String> tokens, int maxTokens, int overlapTokens) {
    if (overlapTokens >= maxTokens) {
      throw new IllegalArgumentException("overlap must be smaller than the chunk");
    }
    this.tokens = tokens;
    this.maxTokens = maxTokens;
    this.overlapTokens = overlapTokens;
  }

  public List<Chunk> chunk(String markdown) {
    List<Chunk> chunks = new ArrayList<>();
    List<String> path = new ArrayList<>();
    List<String> pieces = new ArrayList<>();
    StringBuilder paragraph = new StringBuilder();
    for (String line : markdown.replace("\r\n", "\n").split("\n", -1)) {
      Matcher heading = HEADING.matcher(line);
      if (heading.matches()) {
        flushParagraph(paragraph, pieces);
        emitSection(pieces, String.join(" > ", path), chunks);
        int level = heading.group(1).length();
        while (path.size() >= level) {
          path.remove(path.size() - 1);
        }
        path.add(heading.group(2).strip());
      } else if (line.isBlank()) {
        flushParagraph(paragraph, pieces);
      } else {
        paragraph.append(paragraph.length() > 0 ? "\n" : "").append(line.strip());
      }
    }
    flushParagraph(paragraph, pieces);
    emitSection(pieces, String.join(" > ", path), chunks);
    return chunks;
  }

  private void flushParagraph(StringBuilder paragraph, List<String> pieces) {
    if (paragraph.length() == 0) {
      return;
    }
    String text = paragraph.toString();
    paragraph.setLength(0);
    if (tokens.applyAsInt(text) <= maxTokens) {
      pieces.add(text);
      return;
    }
    Matcher sentence = SENTENCE.matcher(text);
    while (sentence.find()) {
      String s = sentence.group().strip();
      if (s.isEmpty()) {
        continue;
      }
      if (tokens.applyAsInt(s) <= maxTokens) {
        pieces.add(s);
      } else {
        splitWords(s, pieces);
      }
    }
  }

  /** A "sentence" longer than a chunk (a table row, minified code): cut between words. */
  private void splitWords(String text, List<String> pieces) {
    StringBuilder current = new StringBuilder();
    for (String word : text.split("\\s+")) {
      String next = current.length() == 0 ? word : current + " " + word;
      if (current.length() > 0 && tokens.applyAsInt(next) > maxTokens) {
        pieces.add(current.toString());
        current.setLength(0);
        current.append(word);
      } else {
        current.setLength(0);
        current.append(next);
      }
    }
    if (current.length() > 0) {
      pieces.add(current.toString());
    }
  }

  /** Packs a section's pieces into chunks, carrying an overlap from one chunk to the next. */
  private void emitSection(List<String> pieces, String headingPath, List<Chunk> out) {
    List<String> current = new ArrayList<>();
    int currentTokens = 0;
    for (String piece : pieces) {
      int pieceTokens = tokens.applyAsInt(piece);
      if (!current.isEmpty() && currentTokens + pieceTokens > maxTokens) {
        out.add(chunk(out.size(), current, headingPath));
        List<String> carried = overlap(current);
        current = new ArrayList<>(carried);
        currentTokens = carried.stream().mapToInt(tokens::applyAsInt).sum();
        while (!current.isEmpty() && currentTokens + pieceTokens > maxTokens) {
          currentTokens -= tokens.applyAsInt(current.remove(0));
        }
      }
      current.add(piece);
      currentTokens += pieceTokens;
    }
    if (!current.isEmpty()) {
      out.add(chunk(out.size(), current, headingPath));
    }
    pieces.clear();
  }

  /** The trailing sentences of a chunk that fit the overlap. */
  private List<String> overlap(List<String> pieces) {
    if (overlapTokens == 0) {
      return List.of();
    }
    List<String> sentences = new ArrayList<>();
    for (String piece : pieces) {
      Matcher m = SENTENCE.matcher(piece);
      while (m.find()) {
        if (!m.group().isBlank()) {
          sentences.add(m.group().strip());
        }
      }
    }
    List<String> carried = new ArrayList<>();
    int total = 0;
    for (int i = sentences.size() - 1; i >= 0; i--) {
      int t = tokens.applyAsInt(sentences.get(i));
      if (total + t > overlapTokens) {
        break;
      }
      carried.add(0, sentences.get(i));
      total += t;
    }
    return carried;
  }

  private static Chunk chunk(int position, List<String> pieces, String headingPath) {
    String text = String.join("\n\n", pieces);
    return new Chunk("c" + position, position, text, headingPath, ApiKeys.sha256(text));
  }
}
