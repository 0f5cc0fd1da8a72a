package dev.atrium.bench;

import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Seeded, L2-normalised 384-dimensional vectors standing in for MiniLM embeddings, which
 * would take minutes per ten thousand chunks to compute. Two shapes:
 * <ul>
 *   <li>{@code clustered} (default): text embeddings are not spread evenly over the sphere,
 *       they gather by topic. One centre per {@value #CLUSTER_SIZE} vectors, uniform on the
 *       sphere; each vector is its centre plus Gaussian noise of norm about
 *       {@value #SPREAD}, normalised, so members of a cluster have a cosine of about 0.6
 *       with each other (and with a query of their topic) and about 0 with the rest.</li>
 *   <li>{@code uniform}: uniform on the sphere, where every vector is nearly equidistant from
 *       every other: the hardest case for an approximate index, and unlike real text.</li>
 * </ul>
 * Queries are fresh draws from the same shape (a random topic plus noise), never copies of
 * stored vectors, so an exact match never makes recall look better than it is.
 */
final class SyntheticVectors {
  static final int DIMENSIONS = 384;
  static final Set<String> DISTRIBUTIONS = Set.of("clustered", "uniform");
  static final int CLUSTER_SIZE = 100;
  static final double SPREAD = 0.8;

  private final boolean clustered;
  private final float[][] centres;
  private final SplittableRandom data;
  private final SplittableRandom queries;

  SyntheticVectors(String distribution, int count, long seed) {
    if (!DISTRIBUTIONS.contains(distribution)) {
      throw new IllegalArgumentException("unknown distribution " + distribution);
    }
    this.clustered = distribution.equals("clustered");
    SplittableRandom root = new SplittableRandom(seed);
    SplittableRandom centreRandom = root.split();
    this.data = root.split();
    this.queries = root.split();
    this.centres = new float[clustered ? Math.max(1, count / CLUSTER_SIZE) : 0][];
    for (int i = 0; i < centres.length; i++) {
      centres[i] = gaussian(centreRandom, 1);
      normalize(centres[i]);
    }
  }

  /** The next stored vector. */
  float[] next() {
    return draw(data);
  }

  /** {@code n} query vectors, drawn independently of the stored ones. */
  List<float[]> queries(int n) {
    return java.util.stream.Stream.generate(() -> draw(queries)).limit(n).toList();
  }

  private float[] draw(SplittableRandom random) {
    if (!clustered) {
      float[] v = gaussian(random, 1);
      normalize(v);
      return v;
    }
    float[] centre = centres[random.nextInt(centres.length)];
    // N(0, 1/d) per coordinate: a noise vector of norm about 1, scaled to SPREAD.
    float[] v = gaussian(random, SPREAD / Math.sqrt(DIMENSIONS));
    for (int i = 0; i < DIMENSIONS; i++) {
      v[i] += centre[i];
    }
    normalize(v);
    return v;
  }

  private static float[] gaussian(SplittableRandom random, double sigma) {
    float[] v = new float[DIMENSIONS];
    for (int i = 0; i < DIMENSIONS; i++) {
      v[i] = (float) (random.nextGaussian() * sigma);
    }
    return v;
  }

  static void normalize(float[] v) {
    double sum = 0;
    for (float x : v) {
      sum += (double) x * x;
    }
    double norm = Math.sqrt(sum);
    if (norm == 0) {
      throw new IllegalArgumentException("a zero vector has no direction");
    }
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (v[i] / norm);
    }
  }

  /**
   * pgvector's text form with six decimals, {@code [0.012345,-0.100000,...]}: about half the
   * bytes of {@code Float.toString} for 100,000 rows through COPY, and plenty of precision
   * for vectors whose coordinates are about 0.05 (the norm moves by under 1e-5).
   */
  static void appendLiteral(StringBuilder out, float[] v) {
    out.append('[');
    for (int i = 0; i < v.length; i++) {
      if (i > 0) {
        out.append(',');
      }
      long q = Math.round(v[i] * 1e6);
      if (q < 0) {
        out.append('-');
        q = -q;
      }
      out.append(q / 1_000_000).append('.');
      long fraction = q % 1_000_000;
      for (long digit = 100_000; digit > 0; digit /= 10) {
        out.append((char) ('0' + fraction / digit % 10));
      }
    }
    out.append(']');
  }

  static String literal(float[] v) {
    StringBuilder s = new StringBuilder(v.length * 10);
    appendLiteral(s, v);
    return s.toString();
  }

  /** The share of the exact top k that the approximate search found (order does not matter). */
  static double recall(List<String> approximate, List<String> exact) {
    if (exact.isEmpty()) {
      return approximate.isEmpty() ? 1 : 0;
    }
    Set<String> truth = Set.copyOf(exact);
    return approximate.stream().distinct().filter(truth::contains).count() / (double) exact.size();
  }
}
