package dev.atrium.core.tenant;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code guardrails} section of a tenant file: the one prompt-length function, and what loading refuses. */
class GuardrailsConfigTest {
  @TempDir Path dir;

  private void write(String extra) throws IOException {
    Files.writeString(dir.resolve("one.json"), TenantRegistryTest.tenant("one", extra));
  }

  private TenantConfig load(String extra) throws IOException {
    write(extra);
    return TenantRegistry.load(dir, false).byId("one").orElseThrow();
  }

  private String failure(String extra) throws IOException {
    write(extra);
    try {
      TenantRegistry.load(dir, false);
    } catch (TenantConfigException e) {
      return e.getMessage();
    }
    throw new AssertionError("expected the tenant to be refused");
  }

  @Test
  void withoutGuardrailsEveryRouteClassAndTierHasTheTenantsMaxPromptChars() throws IOException {
    TenantConfig t = load(", \"limits\": {\"max_prompt_chars\": 900}");
    for (RouteClass rc : RouteClass.values()) {
      for (Tier tier : Tier.values()) {
        assertThat(t.maxPromptChars(rc, tier)).isEqualTo(900);
      }
    }
    assertThat(t.guardrails().screensInput()).isFalse();
    assertThat(t.guardrails().screensOutput()).isFalse();
  }

  @Test
  void theMostSpecificPromptCharsEntryWins() throws IOException {
    TenantConfig t = load("""
        , "limits": {"max_prompt_chars": 900},
          "guardrails": {"prompt_chars": [
            {"tier": "FREE", "max": 500},
            {"route_class": "search", "max": 400},
            {"route_class": "search", "tier": "FREE", "max": 200}]}""");
    assertThat(t.maxPromptChars(RouteClass.SEARCH, Tier.FREE)).isEqualTo(200);
    assertThat(t.maxPromptChars(RouteClass.SEARCH, Tier.PAID)).isEqualTo(400);
    assertThat(t.maxPromptChars(RouteClass.CHAT, Tier.FREE)).isEqualTo(500);
    assertThat(t.maxPromptChars(RouteClass.CHAT, Tier.PAID)).isEqualTo(900);
  }

  @Test
  void blocklistRulesApplyToBothDirectionsUnlessTold() throws IOException {
    TenantConfig t = load("""
        , "guardrails": {"blocklists": [
            {"code": "both", "terms": ["x"]},
            {"code": "out", "patterns": ["y+"], "apply_to": ["output"]}],
          "pii": {}}""");
    assertThat(t.guardrails().blocklists().get(0).applyTo())
        .containsExactlyInAnyOrder(TenantConfig.Direction.INPUT, TenantConfig.Direction.OUTPUT);
    assertThat(t.guardrails().blocklists().get(1).applyTo()).containsExactly(TenantConfig.Direction.OUTPUT);
    TenantConfig.Pii pii = t.guardrails().pii();
    assertThat(pii.redactor()).isEqualTo("pattern");
    assertThat(pii.kinds()).containsExactly("email", "phone", "card", "iban");
    assertThat(pii.input()).isTrue();
    assertThat(pii.output()).isFalse();
  }

  @Test
  void refusesABadPatternNamingTenantAndPath() throws IOException {
    String message = failure(", \"guardrails\": {\"blocklists\": [{\"code\": \"w\", \"patterns\": [\"ok\", \"(unclosed\"]}]}");
    assertThat(message).contains("one.json").contains("guardrails.blocklists[0].patterns[1]")
        .contains("not a valid regular expression");
  }

  @Test
  void refusesBackReferencesAndNamedGroupsButNotEscapedBackslashesOrLookarounds() throws IOException {
    // JSON text: "(a)\\1" is the pattern (a)\1, "x\\\\1" is x\\1 (an escaped backslash, then 1).
    String message = failure(", \"guardrails\": {\"blocklists\": [{\"code\": \"w\", \"patterns\": [\"(a)\\\\1\","
        + " \"(?<n>b)\\\\k<n>\", \"(?<word>c)\"]}]}");
    assertThat(message).contains("guardrails.blocklists[0].patterns[0]").contains("guardrails.blocklists[0].patterns[1]")
        .contains("guardrails.blocklists[0].patterns[2]").contains("back-references and named groups are not supported");
    TenantConfig fine = load(", \"guardrails\": {\"blocklists\": [{\"code\": \"w\", \"patterns\": [\"x\\\\\\\\1\","
        + " \"(?<!pre)fix\", \"(?<=a)b\", \"(?:c)\\\\d+\"]}]}");
    assertThat(fine.guardrails().blocklists().get(0).patterns()).hasSize(4);
  }

  @Test
  void refusesTwoRulesWithOneCode() throws IOException {
    String message = failure(", \"guardrails\": {\"blocklists\": [{\"code\": \"w\", \"terms\": [\"a\"]},"
        + " {\"code\": \"w\", \"terms\": [\"b\"]}]}");
    assertThat(message).contains("guardrails.blocklists[1].code").contains("already the code");
  }

  @Test
  void refusesAPromptCharsEntryForNeitherClassNorTier() throws IOException {
    assertThat(failure(", \"guardrails\": {\"prompt_chars\": [{\"max\": 10}]}"))
        .contains("one.json").contains("guardrails.prompt_chars[0]");
  }
}
