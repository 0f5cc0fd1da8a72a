package dev.atrium.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class SyntheticVectorsTest {
  @Test
  void vectorsAreUnitLengthAndReproducible() {
    SyntheticVectors a = new SyntheticVectors("clustered", 1000, 7);
    SyntheticVectors b = new SyntheticVectors("clustered", 1000, 7);
    for (int i = 0; i < 50; i++) {
      float[] v = a.next();
      assertThat(v).hasSize(384).containsExactly(b.next());
      assertThat(norm(v)).isCloseTo(1.0, within(1e-5));
    }
    assertThat(norm(new SyntheticVectors("uniform", 1000, 7).next())).isCloseTo(1.0, within(1e-5));
  }

  @Test
  void clusteredVectorsAreCloseToTheirTopicAndFarFromOthers() {
    SyntheticVectors v = new SyntheticVectors("clustered", 200, 1);  // two topics
    List<float[]> many = v.queries(200);
    double max = -1;
    double min = 1;
    for (int i = 1; i < many.size(); i++) {
      double cos = dot(many.get(0), many.get(i));
      max = Math.max(max, cos);
      min = Math.min(min, cos);
    }
    // Same topic: about 1 / (1 + 0.8²) = 0.61; the other topic: about 0.
    assertThat(max).isBetween(0.5, 0.75);
    assertThat(min).isBetween(-0.25, 0.25);
  }

  @Test
  void writesPgvectorsTextFormWithSixDecimals() {
    assertThat(SyntheticVectors.literal(new float[] {0.0123456f, -0.5f, 1f, 0f, -0.0000004f}))
        .isEqualTo("[0.012346,-0.500000,1.000000,0.000000,0.000000]");
  }

  @Test
  void recallIsTheShareOfTheExactTopKFound() {
    assertThat(SyntheticVectors.recall(List.of("a", "b", "c", "d"), List.of("d", "c", "b", "a"))).isEqualTo(1.0);
    assertThat(SyntheticVectors.recall(List.of("a", "b", "x", "y"), List.of("a", "b", "c", "d"))).isEqualTo(0.5);
    assertThat(SyntheticVectors.recall(List.of("a", "a"), List.of("a", "b"))).isEqualTo(0.5);
    assertThat(SyntheticVectors.recall(List.of(), List.of())).isEqualTo(1.0);
  }

  /**
   * The bench times its own copy of the Retriever's statement (it depends on no Atrium
   * module): every line of the copy, with the width written as %d, must still be in the
   * Retriever's source, and so must its scan settings and Database.inTenant's tenant setting.
   */
  @Test
  void theTimedStatementIsStillTheRetrievers() throws IOException {
    String retriever = Files.readString(Path.of("../rag/src/main/java/dev/atrium/rag/Retriever.java"));
    for (String line : VectorSearch.SEARCH_SQL.split("\n")) {
      assertThat(retriever).contains(line.strip().replace("384", "%d"));
    }
    assertThat(retriever).contains("SET LOCAL hnsw.iterative_scan = relaxed_order")
        .contains("SET LOCAL hnsw.ef_search = \" + Math.max(40, 2 * k)")
        .contains("database.inTenant(tenantId");
    assertThat(Files.readString(Path.of("../core/src/main/java/dev/atrium/core/db/Database.java")))
        .contains("select set_config('atrium.tenant_id', ?, true)");
    // The ground truth is another statement, one the index on the cast expression cannot serve.
    assertThat(VectorSearch.EXACT_SQL).isNotEqualTo(VectorSearch.SEARCH_SQL)
        .endsWith("ORDER BY embedding <=> ?::vector LIMIT ?").doesNotContain("<=> ?::vector(384) LIMIT");
  }

  private static double norm(float[] v) {
    return Math.sqrt(dot(v, v));
  }

  private static double dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += (double) a[i] * b[i];
    }
    return s;
  }
}
