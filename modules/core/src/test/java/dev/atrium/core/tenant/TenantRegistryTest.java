package dev.atrium.core.tenant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TenantRegistryTest {
  static final String KEY_HASH = ApiKeys.sha256("k-one-secret");

  @TempDir Path dir;

  static String tenant(String id, String extra) {
    return """
        {
          "id": "%s",
          "display_name": "Tenant %s",
          "hosts": ["%s.example"],
          "api_keys": [{"id": "k1", "sha256": "%s", "tier": "PAID", "account": "acc"}]%s
        }
        """.formatted(id, id, id, ApiKeys.sha256(id + "-secret"), extra);
  }

  void write(String file, String json) throws IOException {
    Files.writeString(dir.resolve(file), json);
  }

  String failure() {
    try {
      TenantRegistry.load(dir, false);
    } catch (TenantConfigException e) {
      return e.getMessage();
    }
    throw new AssertionError("expected the tenants to be refused");
  }

  @Test
  void loadsValidTenantsWithDefaults() throws IOException {
    write("one.json", tenant("one", ""));
    write("two.json", tenant("two", ", \"anonymous_route_classes\": [\"search\"]"));
    TenantRegistry registry = TenantRegistry.load(dir, false);

    assertThat(registry.all()).extracting(TenantConfig::id).containsExactly("one", "two");
    TenantConfig one = registry.byId("one").orElseThrow();
    assertThat(one.models().defaultModel()).isEqualTo("local");
    assertThat(one.limits().maxRequestBytes()).isEqualTo(1_048_576L);
    assertThat(one.runs().maxRunning()).isEqualTo(16);
    assertThat(one.allowsAnonymous(RouteClass.SEARCH)).isFalse();
    assertThat(registry.byId("two").orElseThrow().allowsAnonymous(RouteClass.SEARCH)).isTrue();
    assertThat(registry.byKey("one-secret")).map(m -> m.tenant().id()).contains("one");
    assertThat(registry.byKey("one-secret")).map(m -> m.key().accountId().orElseThrow()).contains("acc");
    assertThat(registry.byKey("nobody")).isEmpty();
    assertThat(registry.byHost("TWO.example")).map(TenantConfig::id).contains("two");
  }

  @Test
  void refusesMalformedJsonNamingFileAndPosition() throws IOException {
    write("one.json", "{\n  \"id\": \"one\",\n  \"display_name\": oops\n}");
    assertThat(failure()).contains("one.json").contains("not valid JSON at line 3");
  }

  @Test
  void refusesAnUnknownFieldNamingIt() throws IOException {
    write("one.json", tenant("one", ", \"colour\": \"blue\""));
    assertThat(failure()).contains("one.json").contains("field 'colour'").contains("unknown field");
  }

  @Test
  void refusesAnUnknownNestedField() throws IOException {
    write("one.json", tenant("one", ", \"limits\": {\"max_request_bytez\": 5000}"));
    assertThat(failure()).contains("one.json").contains("limits.max_request_bytez").contains("unknown field");
  }

  @Test
  void refusesAMissingRequiredField() throws IOException {
    write("one.json", "{\"id\": \"one\", \"api_keys\": []}");
    assertThat(failure()).contains("one.json").contains("field 'display_name'").contains("required");
  }

  @Test
  void refusesABadEnumValue() throws IOException {
    write("one.json", tenant("one", "").replace("\"PAID\"", "\"GOLD\""));
    assertThat(failure()).contains("one.json").contains("api_keys[0].tier");
  }

  @Test
  void refusesAValueOutOfRange() throws IOException {
    write("one.json", tenant("one", ", \"limits\": {\"max_request_bytes\": 10}"));
    assertThat(failure()).contains("one.json").contains("limits.max_request_bytes").contains("1024");
  }

  @Test
  void refusesAZeroOrNegativeMaxRunning() throws IOException {
    write("one.json", tenant("one", ", \"runs\": {\"max_running\": 0}"));
    assertThat(failure()).contains("one.json").contains("field 'runs.max_running'").contains("minimum value of 1");
    write("one.json", tenant("one", ", \"runs\": {\"max_concurrency\": 4, \"max_running\": -3}"));
    assertThat(failure()).contains("one.json").contains("field 'runs.max_running'");
    write("one.json", tenant("one", ", \"runs\": {\"max_running\": 2}"));
    assertThat(TenantRegistry.load(dir, false).byId("one").orElseThrow().runs().maxRunning()).isEqualTo(2);
  }

  @Test
  void refusesABadKeyHash() throws IOException {
    write("one.json", tenant("one", "").replace(ApiKeys.sha256("one-secret"), "not-a-hash"));
    assertThat(failure()).contains("one.json").contains("api_keys[0].sha256");
  }

  @Test
  void refusesAnIdThatIsNotTheFileName() throws IOException {
    write("other.json", tenant("one", ""));
    assertThat(failure()).contains("other.json").contains("field 'id'").contains("must match");
  }

  @Test
  void refusesAColonInTheId() throws IOException {
    write("a:b.json", tenant("a:b", ""));
    assertThat(failure()).contains("field 'id'");
  }

  @Test
  void refusesADefaultModelThatIsNotConfigured() throws IOException {
    write("one.json", tenant("one", ", \"models\": {\"default_model\": \"gpt-9\"}"));
    assertThat(failure()).contains("one.json").contains("models.default_model").contains("gpt-9");
  }

  @Test
  void refusesAModelWhoseProviderIsMissing() throws IOException {
    write("one.json", tenant("one", """
        , "models": {"default_model": "m", "models": {"m": {"provider": "nowhere"}},
                     "providers": {"local": {"type": "local"}}}"""));
    assertThat(failure()).contains("models.models.m.provider").contains("nowhere");
  }

  @Test
  void readsTaskPinsAndTheAllowedModels() throws IOException {
    write("one.json", tenant("one", """
        , "models": {"default_model": "cheap", "models": {"cheap": {"provider": "local"}, "strong": {"provider": "local"}},
                     "providers": {"local": {"type": "local"}},
                     "tasks": {"search_answer": "strong"}, "allowed": ["strong"]}"""));
    TenantConfig.ModelSettings models = TenantRegistry.load(dir, false).byId("one").orElseThrow().models();
    assertThat(models.modelFor(ModelTask.SEARCH_ANSWER)).isEqualTo("strong");
    assertThat(models.modelFor(ModelTask.SEARCH_REWRITE)).isEqualTo("cheap");
    assertThat(models.allows("strong")).isTrue();
    assertThat(models.allows("cheap")).isFalse();
    assertThat(models.allows("absent")).isFalse();
    assertThat(models.requestable()).containsExactly("strong");
  }

  @Test
  void withoutAnAllowedListEveryModelMayBeNamed() throws IOException {
    write("one.json", tenant("one", """
        , "models": {"default_model": "b", "models": {"b": {"provider": "local"}, "a": {"provider": "local"}},
                     "providers": {"local": {"type": "local"}}}"""));
    TenantConfig.ModelSettings models = TenantRegistry.load(dir, false).byId("one").orElseThrow().models();
    assertThat(models.requestable()).containsExactly("a", "b");
    assertThat(models.allows("a")).isTrue();
    assertThat(models.modelFor(ModelTask.CHAT)).isEqualTo("b");
  }

  @Test
  void refusesTaskPinsAndAllowedModelsThatAreNotConfiguredAndUnknownTasks() throws IOException {
    write("one.json", tenant("one", """
        , "models": {"default_model": "m", "models": {"m": {"provider": "local"}},
                     "providers": {"local": {"type": "local"}},
                     "tasks": {"search_answer": "gpt-9"}, "allowed": ["m", "gpt-8"]}"""));
    assertThat(failure()).contains("models.tasks.search_answer").contains("gpt-9")
        .contains("models.allowed").contains("gpt-8");
    write("one.json", tenant("one", """
        , "models": {"tasks": {"summarise": "local"}}"""));
    assertThat(failure()).contains("models.tasks.summarise").contains("unknown field");
  }

  @Test
  void refusesAnOpenAiProviderWithoutBaseUrl() throws IOException {
    write("one.json", tenant("one", """
        , "models": {"default_model": "m", "models": {"m": {"provider": "up"}},
                     "providers": {"up": {"type": "openai"}}}"""));
    assertThat(failure()).contains("models.providers.up.base_url");
  }

  @Test
  void refusesTheSameKeyInTwoTenants() throws IOException {
    write("one.json", tenant("one", ""));
    write("two.json", tenant("two", "").replace(ApiKeys.sha256("two-secret"), ApiKeys.sha256("one-secret")));
    assertThat(failure()).contains("two.json").contains("api_keys[0].sha256").contains("one.json");
  }

  @Test
  void refusesTheSameHostInTwoTenants() throws IOException {
    write("one.json", tenant("one", ""));
    write("two.json", tenant("two", "").replace("two.example", "one.example"));
    assertThat(failure()).contains("two.json").contains("hosts").contains("one.example");
  }

  @Test
  void refusesDuplicateKeyIdsInOneTenant() throws IOException {
    write("one.json", """
        {"id": "one", "display_name": "One", "api_keys": [
          {"id": "k", "sha256": "%s", "tier": "FREE"},
          {"id": "k", "sha256": "%s", "tier": "PAID"}]}
        """.formatted(ApiKeys.sha256("a"), ApiKeys.sha256("b")));
    assertThat(failure()).contains("api_keys[1].id");
  }

  @Test
  void readsByokProvidersAndRefusesOnesThatAreNotRemoteProvidersOfTheTenant() throws IOException {
    String models = """
        , "features": {"byok": true}, "byok": {"providers": {"openai": "%s"}},
          "models": {"models": {"m": {"provider": "up"}},
                     "providers": {"up": {"type": "openai", "base_url": "http://127.0.0.1:1"}, "local": {"type": "local"}}}""";
    write("one.json", tenant("one", models.formatted("up")));
    TenantConfig one = TenantRegistry.load(dir, false).byId("one").orElseThrow();
    assertThat(one.features().byok()).isTrue();
    assertThat(one.byok().providers()).containsExactly(java.util.Map.entry("openai", "up"));
    assertThat(TenantRegistry.load(dir, false).all()).allSatisfy(t -> assertThat(t.byok()).isNotNull());

    write("one.json", tenant("one", models.formatted("local")));
    assertThat(failure()).contains("one.json").contains("field 'byok.providers.openai'").contains("'local'")
        .contains("[up]");
    write("one.json", tenant("one", models.formatted("nowhere")));
    assertThat(failure()).contains("field 'byok.providers.openai'").contains("'nowhere'");
    write("one.json", tenant("one", models.formatted("up").replace("\"openai\": \"up\"", "\"Open AI\": \"up\"")));
    assertThat(failure()).contains("one.json").contains("byok.providers");
  }

  @Test
  void reportsEveryBadFileAtOnce() throws IOException {
    write("one.json", tenant("one", ", \"x\": 1"));
    write("two.json", "{");
    assertThat(failure()).contains("one.json").contains("two.json");
  }

  @Test
  void refusesAnEmptyOrMissingDirectory() {
    assertThat(failure()).contains("no tenant files");
    assertThatThrownBy(() -> TenantRegistry.load(dir.resolve("absent"), false))
        .hasMessageContaining("does not exist");
  }

  @Test
  void productionRefusesFlaggedDevelopmentKeys() throws IOException {
    write("one.json", tenant("one", "").replace("\"account\": \"acc\"", "\"account\": \"acc\", \"development\": true"));
    assertThat(TenantRegistry.load(dir, false).all()).hasSize(1);
    assertThatThrownBy(() -> TenantRegistry.load(dir, true))
        .hasMessageContaining("one.json").hasMessageContaining("development key").hasMessageContaining("--prod");
  }

  @Test
  void productionRefusesTheShippedDemoKeyEvenWithoutItsFlag() throws IOException {
    write("one.json", tenant("one", "").replace(ApiKeys.sha256("one-secret"), ApiKeys.sha256("demo-key")));
    assertThatThrownBy(() -> TenantRegistry.load(dir, true)).hasMessageContaining("development key");
  }

  @Test
  void theShippedTenantsLoadInDevelopmentAndAreRefusedInProduction() {
    Path shipped = Path.of(System.getProperty("atrium.repo.root", "../..")).resolve("tenants");
    TenantRegistry registry = TenantRegistry.load(shipped, false);
    assertThat(registry.all()).extracting(TenantConfig::id).contains("demo", "acme");
    assertThat(registry.byKey("demo-key")).map(m -> m.tenant().id()).contains("demo");
    assertThat(registry.byKey("acme-key")).map(m -> m.tenant().id()).contains("acme");
    assertThatThrownBy(() -> TenantRegistry.load(shipped, true))
        .hasMessageContaining("demo.json").hasMessageContaining("acme.json");
  }

  @Test
  void bucketsFallBackToDefaultThenBuiltIn() throws IOException {
    write("one.json", tenant("one", """
        , "rate_limits": {"default": {"paid": {"capacity": 7, "refill_per_second": 0.5}},
                          "chat": {"free": {"capacity": 3, "refill_per_second": 0.1}}}"""));
    TenantConfig t = TenantRegistry.load(dir, false).byId("one").orElseThrow();
    assertThat(t.bucketFor(RouteClass.CHAT, Tier.FREE)).isEqualTo(new TenantConfig.Bucket(3, 0.1));
    assertThat(t.bucketFor(RouteClass.SEARCH, Tier.PAID)).isEqualTo(new TenantConfig.Bucket(7, 0.5));
    assertThat(t.bucketFor(RouteClass.CHAT, Tier.PAID).capacity()).isPositive();
  }

  @Test
  void theKubernetesExampleTenantIsValidInProduction() {
    Path example = Path.of(System.getProperty("atrium.repo.root", "../..")).resolve("k8s/base/tenants");
    assertThat(TenantRegistry.load(example, true).all()).extracting(TenantConfig::id).containsExactly("example");
  }

  @Test
  void refusesANegativeRateAndAZeroCapacity() throws IOException {
    write("one.json", tenant("one", """
        , "rate_limits": {"chat": {"paid": {"capacity": 0, "refill_per_second": 1}},
                          "search": {"free": {"capacity": 5, "refill_per_second": -2}}}"""));
    assertThat(failure()).contains("one.json")
        .contains("rate_limits.chat.paid.capacity")
        .contains("rate_limits.search.free.refill_per_second");
  }

  @Test
  void refusesABadTrustedProxyAndAnUnknownUnavailablePolicy() throws IOException {
    write("one.json", tenant("one", ", \"trusted_proxies\": [\"10.0.0.0/99\"], \"on_limiter_unavailable\": \"maybe\""));
    assertThat(failure()).contains("on_limiter_unavailable");
    write("one.json", tenant("one", ", \"trusted_proxies\": [\"10.0.0.0/99\"]"));
    assertThat(failure()).contains("trusted_proxies[0]");
  }

  @Test
  void aCheckedSetReplacesTheLookupsWholeWithItsVersion() throws IOException {
    write("one.json", tenant("one", ""));
    write("two.json", tenant("two", ""));
    TenantRegistry registry = TenantRegistry.load(dir, false);
    TenantRegistry.Snapshot before = registry.snapshot();
    assertThat(registry.version()).isZero();
    assertThat(registry.origin()).map(TenantRegistry.Origin::dir).contains(dir);
    assertThat(before.hashes().get("one")).isEqualTo(ApiKeys.sha256(Files.readString(dir.resolve("one.json"))));

    // two goes, three comes, one gets another host: read again, swapped in as version 4.
    Files.delete(dir.resolve("two.json"));
    write("one.json", tenant("one", "").replace("[\"one.example\"]", "[\"one.example\", \"uno.example\"]"));
    write("three.json", tenant("three", ""));
    TenantRegistry candidate = TenantRegistry.parse(registry.origin().orElseThrow(), TenantRegistry.readSources(dir));
    assertThat(registry.byHost("uno.example")).isEmpty();
    registry.replace(candidate, 4);

    assertThat(registry.version()).isEqualTo(4);
    assertThat(registry.all()).extracting(TenantConfig::id).containsExactly("one", "three");
    assertThat(registry.byKey("two-secret")).isEmpty();
    assertThat(registry.byKey("three-secret")).map(m -> m.tenant().id()).contains("three");
    assertThat(registry.byHost("uno.example")).map(TenantConfig::id).contains("one");
    assertThat(registry.snapshot().hashes().get("one")).isNotEqualTo(before.hashes().get("one"));
    assertThat(registry.snapshot().setHash()).isNotEqualTo(before.setHash());
    // The set a caller held stays what it was: a request sees one set throughout.
    assertThat(before.byKey("two-secret")).isPresent();
    assertThat(before.version()).isZero();
  }

  @Test
  void aPublishedSetIsCheckedAsTheFilesAreAtStart() throws IOException {
    write("one.json", tenant("one", ""));
    TenantRegistry registry = TenantRegistry.load(dir, false);
    var sources = new java.util.TreeMap<>(registry.snapshot().sources());
    assertThat(sources).containsOnlyKeys("one.json");
    sources.put("two.json", tenant("two", ", \"colour\": \"red\""));
    sources.put("three.json", "{\"id\": ");
    sources.put("../four.json", tenant("four", ""));

    assertThatThrownBy(() -> TenantRegistry.parse(registry.origin().orElseThrow(), sources))
        .isInstanceOf(TenantConfigException.class)
        .hasMessageContaining(dir.resolve("two.json") + ": field 'colour': unknown field (not in the tenant schema)")
        .hasMessageContaining(dir.resolve("three.json") + ": not valid JSON")
        .hasMessageContaining("four.json: not a tenant file name");
    assertThat(registry.all()).extracting(TenantConfig::id).containsExactly("one");
  }

  @Test
  void theSameSetHasTheSameHashesWhereverItIsRead(@TempDir Path other) throws IOException {
    write("one.json", tenant("one", ""));
    Files.writeString(other.resolve("one.json"), tenant("one", ""));
    TenantRegistry here = TenantRegistry.load(dir, false);
    TenantRegistry there = TenantRegistry.load(other, false);
    assertThat(there.snapshot().setHash()).isEqualTo(here.snapshot().setHash());
    assertThat(there.snapshot().hashes()).isEqualTo(here.snapshot().hashes());
  }
}
