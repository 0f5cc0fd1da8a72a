package dev.atrium.rag;

import dev.atrium.core.http.ApiError;
import dev.atrium.core.tenant.Principal;
import dev.atrium.gateway.usage.UsageContext;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;

/** The PAID path of {@code POST /v1/repos/ask}. */
final class RepoIngest {
  private final RagModule module;

  RepoIngest(RagModule module) {
    this.module = module;
  }

  Route ask(Principal principal, UsageContext usage, String question, RepoAskRoutes.Ask ask,
      CompletionStage<RepoAskRoutes.Archive> archive) {
    throw new ApiError(StatusCodes.NOT_IMPLEMENTED, "not_implemented", "The PAID path is not built yet.");
  }
}
