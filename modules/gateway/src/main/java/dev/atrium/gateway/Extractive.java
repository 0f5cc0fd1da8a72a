package dev.atrium.gateway;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An answer made of the passages' own sentences, for when no language model is configured:
 * the sentences that share the most words with the question (weighted by their passage's
 * retrieval score), in document order, each cited by its passage number.
 */
public final class Extractive {
  private static final Pattern SENTENCE = Pattern.compile("[^.!?\\n]+(?:[.!?]+[\"')\\]]*|$)");
  private static final Pattern WORD = Pattern.compile("[\\p{L}\\p{N}][\\p{L}\\p{N}'-]*");
  private static final Set<String> STOP = Set.of("a", "an", "the", "is", "are", "was", "were", "be", "to", "of", "in",
      "on", "at", "for", "and", "or", "what", "which", "who", "whom", "when", "where", "why", "how", "do", "does",
      "did", "can", "could", "should", "would", "i", "we", "you", "it", "this", "that", "with", "by", "from", "as",
      "our", "my", "your", "their", "there", "has", "have", "any", "about", "into", "than", "then", "if", "so", "much",
      "many");

  private Extractive() {}

  static Set<String> words(String text) {
    Set<String> words = new HashSet<>();
    Matcher m = WORD.matcher(text.toLowerCase(Locale.ROOT));
    while (m.find()) {
      String w = m.group();
      if (!STOP.contains(w) && w.length() > 1) {
        words.add(w.length() > 4 && w.endsWith("s") ? w.substring(0, w.length() - 1) : w);
      }
    }
    return words;
  }

  private record Candidate(int passage, int position, String sentence, double score) {}

  /** Up to {@code maxSentences} cited sentences; empty when no passage is given. */
  public static String answer(String question, List<Passage> passages, int maxSentences) {
    if (passages.isEmpty()) {
      return "";
    }
    Set<String> asked = words(question);
    List<Candidate> candidates = new ArrayList<>();
    for (Passage passage : passages) {
      Matcher m = SENTENCE.matcher(passage.text());
      int position = 0;
      while (m.find()) {
        String sentence = m.group().strip();
        if (sentence.length() < 3 || sentence.startsWith("#")) {
          continue;
        }
        Set<String> have = words(sentence);
        long overlap = have.stream().filter(asked::contains).count();
        double score = overlap / Math.sqrt(Math.max(4, have.size())) + 0.5 * passage.score();
        candidates.add(new Candidate(passage.index(), position++, sentence, overlap > 0 ? score : score - 10));
      }
    }
    List<Candidate> best = candidates.stream()
        .sorted(Comparator.comparingDouble(Candidate::score).reversed())
        .limit(maxSentences)
        .filter(c -> c.score() > -10 || c == candidates.get(0))
        .sorted(Comparator.comparingInt(Candidate::passage).thenComparingInt(Candidate::position))
        .toList();
    if (best.isEmpty() && !candidates.isEmpty()) {
      best = List.of(candidates.get(0));
    }
    StringBuilder answer = new StringBuilder();
    for (Candidate c : best) {
      if (answer.length() > 0) {
        answer.append(' ');
      }
      answer.append(c.sentence()).append(" [").append(c.passage()).append(']');
    }
    return answer.toString();
  }
}
