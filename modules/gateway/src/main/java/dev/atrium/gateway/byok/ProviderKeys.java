package dev.atrium.gateway.byok;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.core.tenant.TenantRegistry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * Bring-your-own provider keys (server config {@code atrium.byok}): the families a caller's
 * key may belong to, each with its own header and a pattern its keys match, and the generic
 * header whose family is the first whose pattern matches. {@link #from} reads a request's
 * key for a tenant: none, one checked key, or a 400 that never quotes the key.
 */
public final class ProviderKeys {
  /** A family of provider keys: its header and the shape of its keys. */
  record Family(String name, String header, Pattern pattern) {}

  private final String genericHeader;
  private final List<Family> families;
  private final Map<String, Family> byHeader = new LinkedHashMap<>();

  ProviderKeys(String genericHeader, List<Family> families) {
    this.genericHeader = genericHeader.toLowerCase(Locale.ROOT);
    this.families = List.copyOf(families);
    for (Family f : families) {
      byHeader.put(f.header().toLowerCase(Locale.ROOT), f);
    }
  }

  /**
   * The families of {@code atrium.byok}; a tenant that maps a family not configured here
   * stops the node at start, naming the tenant and the family.
   */
  public static ProviderKeys fromConfig(Config byok, TenantRegistry tenants) {
    List<Family> families = new ArrayList<>();
    Config all = byok.getConfig("families");
    for (String name : all.root().keySet().stream().sorted().toList()) {
      Config f = all.getConfig(name);
      String pattern = f.getString("pattern");
      try {
        families.add(new Family(name, f.getString("header"), Pattern.compile(pattern)));
      } catch (PatternSyntaxException e) {
        throw new ConfigException.BadValue(f.origin(), "atrium.byok.families." + name + ".pattern",
            "not a regular expression: " + e.getDescription());
      }
    }
    ProviderKeys keys = new ProviderKeys(byok.getString("generic-header"), families);
    for (TenantConfig tenant : tenants.all()) {
      for (String family : tenant.byok().providers().keySet()) {
        if (keys.family(family).isEmpty()) {
          throw new ConfigException.BadValue("byok.providers." + family, keys.unknownFamily(tenant, family));
        }
      }
    }
    return keys;
  }

  /** What {@link #fromConfig} refuses at start, for a set of tenants a reload would apply: one problem per tenant and family. */
  public List<String> problems(TenantRegistry tenants) {
    List<String> problems = new ArrayList<>();
    for (TenantConfig tenant : tenants.all()) {
      tenant.byok().providers().keySet().stream().sorted().filter(f -> family(f).isEmpty())
          .forEach(f -> problems.add(tenant.id() + ".json: field 'byok.providers." + f + "': " + unknownFamily(tenant, f)));
    }
    return problems;
  }

  private String unknownFamily(TenantConfig tenant, String family) {
    return "tenant '" + tenant.id() + "' maps the key family '" + family + "', which atrium.byok.families does not define "
        + families.stream().map(Family::name).toList();
  }

  private Optional<Family> family(String name) {
    return families.stream().filter(f -> f.name().equals(name)).findFirst();
  }

  /** The header names that carry provider keys (the generic one first). */
  public List<String> headers() {
    List<String> names = new ArrayList<>();
    names.add(genericHeader);
    names.addAll(byHeader.keySet());
    return names;
  }

  /**
   * The caller's provider key in {@code request} for {@code tenant}, if it carries one.
   * Refused with 400 (the key never in the message): {@code byok_not_enabled} for a tenant
   * without the feature, {@code invalid_provider_key} for a key of the wrong shape or
   * family or more than one key, {@code byok_no_provider} for a family the tenant maps to
   * none of its providers.
   */
  public Optional<ProviderKey> from(TenantConfig tenant, HttpRequest request) {
    String header = null;
    String value = null;
    for (HttpHeader h : request.getHeaders()) {
      String name = h.lowercaseName();
      if (name.equals(genericHeader) || byHeader.containsKey(name)) {
        if (header != null) {
          throw ApiError.badRequest("invalid_provider_key",
              "A request carries at most one provider key; it has " + header + " and " + name + ".");
        }
        header = name;
        value = h.value().trim();
      }
    }
    if (header == null) {
      return Optional.empty();
    }
    if (!tenant.features().byok()) {
      throw ApiError.badRequest("byok_not_enabled",
          "This tenant does not take callers' provider keys (feature byok); send the request without " + header + ".");
    }
    Family family = header.equals(genericHeader) ? matching(value)
        : byHeader.get(header).pattern().matcher(value).matches() ? byHeader.get(header) : null;
    if (family == null) {
      throw ApiError.badRequest("invalid_provider_key", "The key in " + header + " is not a "
          + (header.equals(genericHeader) ? "key of any known provider " + families.stream().map(Family::name).toList()
              : byHeader.get(header).name() + " key")
          + ".").withExtension("header", header);
    }
    if (!tenant.byok().providers().containsKey(family.name())) {
      throw ApiError.badRequest("byok_no_provider", "This tenant sends no " + family.name()
          + " keys to any of its providers (byok.providers); it takes keys of "
          + tenant.byok().providers().keySet().stream().sorted().toList() + ".").withExtension("header", header);
    }
    return Optional.of(new ProviderKey(family.name(), header, value));
  }

  /** The directive of {@link #from}: the inner route with the request's provider key, if any. */
  public Route providerKey(TenantConfig tenant, Function<Optional<ProviderKey>, Route> inner) {
    return Directives.extractRequest(request -> inner.apply(from(tenant, request)));
  }

  private Family matching(String value) {
    return families.stream().filter(f -> f.pattern().matcher(value).matches()).findFirst().orElse(null);
  }
}
