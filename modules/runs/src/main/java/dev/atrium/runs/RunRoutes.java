package dev.atrium.runs;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.parameterOptional;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.post;
import static org.apache.pekko.http.javadsl.server.Directives.respondWithHeader;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atrium.core.http.ApiError;
import dev.atrium.core.http.IdempotencyKey;
import dev.atrium.core.http.JsonRoutes;
import dev.atrium.core.http.PageLimit;
import dev.atrium.core.http.Sse;
import dev.atrium.core.tenant.Caller;
import dev.atrium.core.tenant.Owner;
import dev.atrium.core.tenant.Principal;
import dev.atrium.core.tenant.RouteClass;
import dev.atrium.core.tenant.Tier;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.Location;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/** The run API under {@code /v1/runs}. */
final class RunRoutes {
  private static final Pattern RUN_ID = Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

  private final RunsModule module;

  RunRoutes(RunsModule module) {
    this.module = module;
  }

  Route route() {
    return pathPrefix(PathMatchers.segment("v1").slash("runs"), () ->
        module.tenants.principal(RouteClass.RUNS, principal -> concat(
            pathEndOrSingleSlash(() -> concat(
                post(() -> optionalHeaderValueByName(IdempotencyKey.HEADER, key ->
                    JsonRoutes.body(ObjectNode.class, body -> create(principal, body, IdempotencyKey.checked(key))))),
                get(() -> list(principal)))),
            pathPrefix(PathMatchers.segment(), runId -> concat(
                pathEndOrSingleSlash(() -> get(() -> onSuccess(ask(principal, runId, false), v -> JsonRoutes.json(RunJson.view(v))))),
                path("events", () -> get(() -> events(principal, runId))),
                path("cancel", () -> post(() -> onSuccess(ask(principal, runId, true),
                    v -> JsonRoutes.json(StatusCodes.ACCEPTED, RunJson.view(v))))))))));
  }

  /** The caller as the owner of its runs: a PAID key or user; FREE and anonymous callers are stateless (403). */
  private static Caller owner(Principal principal) {
    return Caller.of(principal).filter(c -> principal.tier() == Tier.PAID).orElseThrow(() ->
        ApiError.forbidden("runs_need_paid_key",
            "Runs are stored on the caller's behalf and need a PAID API key or user; FREE requests are stateless."));
  }

  /**
   * The owner in a run id derived from an Idempotency-Key: a key owner as its bare id, as
   * before owners had kinds (a resend across the upgrade reaches the same run), a user as
   * {@code user:<id>}.
   */
  private static String idempotencyOwner(Owner owner) {
    return owner.kind() == Owner.Kind.KEY ? owner.id() : owner.toString();
  }

  private Route create(Principal principal, ObjectNode body, Optional<String> idempotencyKey) {
    Caller owner = owner(principal);
    JsonNode typeNode = body.path("type");
    if (!typeNode.isTextual()) {
      throw ApiError.badRequest("invalid_field", "type must be one of " + module.types.names()).withExtension("param", "type");
    }
    RunType type = module.types.get(typeNode.asText()).orElseThrow(() ->
        ApiError.badRequest("unknown_run_type", "Unknown run type '" + typeNode.asText() + "'; the types are "
            + module.types.names()).withExtension("param", "type").withExtension("run_types", module.types.names()));
    JsonNode input = body.path("input");
    if (!input.isObject()) {
      throw ApiError.badRequest("invalid_field", "input must be an object").withExtension("param", "input");
    }
    int size = input.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
    if (size > type.maxInputBytes()) {
      throw ApiError.payloadTooLarge("The input has " + size + " bytes; a " + type.name() + " run takes at most "
          + type.maxInputBytes() + ".").withExtension("limit_bytes", type.maxInputBytes());
    }
    List<String> problems = module.types.validate(type.name(), input);
    if (!problems.isEmpty()) {
      throw ApiError.badRequest("invalid_input", String.join("; ", problems))
          .withExtension("param", problems.get(0).substring(0, problems.get(0).indexOf(':')))
          .withExtension("problems", problems);
    }
    // With an Idempotency-Key the id is derived from the tenant, the key's owner and the key,
    // so a resend (after a timeout, say) reaches the same entity and gets the same run.
    String runId = idempotencyKey
        .map(k -> UUID.nameUUIDFromBytes((principal.tenantId() + "\n" + idempotencyOwner(owner.owner()) + "\n" + k).getBytes(StandardCharsets.UTF_8)))
        .orElseGet(UUID::randomUUID).toString();
    return onSuccess(module.runs.create(runId, principal, type.name(), input), view -> {
      Map<String, Object> accepted = new LinkedHashMap<>();
      accepted.put("run_id", runId);
      accepted.put("status", view.status());
      accepted.put("poll_url", "/v1/runs/" + runId);
      accepted.put("events_url", "/v1/runs/" + runId + "/events");
      return respondWithHeader(Location.create("/v1/runs/" + runId), () -> JsonRoutes.json(StatusCodes.ACCEPTED, accepted));
    });
  }

  private Route list(Principal principal) {
    Caller owner = owner(principal);
    return parameterOptional("status", status -> parameterOptional("limit", limit -> parameterOptional("cursor", cursor ->
        onSuccess(module.queries.list(principal.tenantId(), Optional.of(owner.owner()), status, PageLimit.parse(limit, 20, 100), cursor),
            page -> JsonRoutes.json(page(page))))));
  }

  static Map<String, Object> page(RunQueries.Page page) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("data", page.runs());
    body.put("next_cursor", page.nextCursor().orElse(null));
    return body;
  }

  private CompletionStage<RunView> ask(Principal principal, String runId, boolean cancel) {
    Caller caller = owner(principal);
    if (!RUN_ID.matcher(runId).matches()) {
      throw ApiError.notFound(Run.NO_SUCH_RUN);
    }
    return cancel ? module.runs.cancel(caller, runId) : module.runs.get(caller, runId);
  }

  /**
   * The run's state first, then one event per change (the entity is asked a few times a
   * second; only changes are sent), ending with the terminal state.
   */
  private Route events(Principal principal, String runId) {
    return onSuccess(ask(principal, runId, false), first -> {
      Source<ByteString, NotUsed> changes = Source.tick(module.pollInterval, module.pollInterval, NotUsed.getInstance())
          .mapAsync(1, tick -> ask(principal, runId, false).handle((v, e) -> Optional.ofNullable(v)))
          .filter(Optional::isPresent).map(Optional::get)
          .statefulMapConcat(() -> {
            long[] seen = {first.seq()};
            return v -> {
              if (v.seq() == seen[0]) {
                return List.<RunView>of();
              }
              seen[0] = v.seq();
              return List.of(v);
            };
          })
          .takeWhile(v -> !v.terminal(), true)
          .map(v -> Sse.event("run", RunJson.view(v)))
          .mapMaterializedValue(c -> NotUsed.getInstance());
      Source<ByteString, NotUsed> events = Source.single(Sse.event("run", RunJson.view(first)));
      if (!first.terminal()) {
        events = events.concat(changes);
      }
      return complete(Sse.response(events.keepAlive(module.heartbeat, () -> Sse.HEARTBEAT)));
    });
  }
}
