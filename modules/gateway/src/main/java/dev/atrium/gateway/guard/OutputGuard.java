package dev.atrium.gateway.guard;

import dev.atrium.core.tenant.TenantConfig;
import dev.atrium.gateway.ChatEvent;
import java.util.regex.Matcher;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;

/**
 * The output guardrails of one streamed answer: the text of its deltas passes the output
 * blocklist, then the redactor, each through a window of its own that holds back the tail
 * that could still be the start of a match ({@link Scanner}) and releases it when it cannot
 * be, or when the answer ends. A match straddling chunks is found whole. A delta whose text
 * changed or was held loses its upstream bytes ({@code raw}: the door then writes the
 * text); tool-call fragments pass untouched. A blocklist match fails the stream with
 * {@code content_blocked} (the rule's code, never the text), which the doors render as
 * their error event.
 */
final class OutputGuard extends GraphStage<FlowShape<ChatEvent, ChatEvent>> {
  private final Inlet<ChatEvent> in = Inlet.create("OutputGuard.in");
  private final Outlet<ChatEvent> out = Outlet.create("OutputGuard.out");
  private final FlowShape<ChatEvent, ChatEvent> shape = FlowShape.of(in, out);
  private final TenantGuard guard;
  private final TenantGuard.Decisions decisions;

  OutputGuard(TenantGuard guard, TenantGuard.Decisions decisions) {
    this.guard = guard;
    this.decisions = decisions;
  }

  @Override
  public FlowShape<ChatEvent, ChatEvent> shape() {
    return shape;
  }

  @Override
  public GraphStageLogic createLogic(Attributes attributes) {
    return new GraphStageLogic(shape) {
      /** Text the blocklist has not settled yet. */
      private final StringBuilder unscreened = new StringBuilder();
      /** Text the blocklist has passed and the redactor has not settled yet. */
      private final StringBuilder unredacted = new StringBuilder();
      private final Matcher blockMatcher = guard.output == null ? null : guard.output.matcher(unscreened);

      {
        setHandler(in, new AbstractInHandler() {
          @Override
          public void onPush() {
            ChatEvent event = grab(in);
            if (event instanceof ChatEvent.Delta delta) {
              onDelta(delta);
            } else if (event instanceof ChatEvent.Finish) {
              String rest = release("", false);
              if (rest == null) {
                return;
              }
              if (rest.isEmpty()) {
                push(out, event);
              } else {
                emit(out, ChatEvent.Delta.text(rest));
                emit(out, event);
              }
            } else {
              push(out, event);
            }
          }

          @Override
          public void onUpstreamFinish() {
            String rest = release("", false);
            if (rest == null) {
              return;
            }
            if (!rest.isEmpty()) {
              emit(out, ChatEvent.Delta.text(rest));
            }
            completeStage();
          }
        });
        setHandler(out, new AbstractOutHandler() {
          @Override
          public void onPull() {
            pull(in);
          }
        });
      }

      private void onDelta(ChatEvent.Delta delta) {
        if (delta.content().isEmpty() && unscreened.isEmpty() && unredacted.isEmpty()) {
          push(out, delta);
          return;
        }
        String released = release(delta.content(), true);
        if (released == null) {
          return;
        }
        if (released.equals(delta.content())) {
          // Nothing held before or now, nothing changed: the upstream's bytes still say it.
          push(out, delta);
        } else if (!released.isEmpty() || !delta.toolCalls().isEmpty()) {
          push(out, new ChatEvent.Delta(released, delta.toolCalls(), null));
        } else {
          pull(in);
        }
      }

      /**
       * Adds {@code text} to the windows and returns what they release ({@code more}
       * false: everything), or null when the blocklist matched and the stage has failed.
       */
      private String release(String text, boolean more) {
        String passed = text;
        if (guard.output != null) {
          unscreened.append(text);
          Blocklist.Found found = guard.output.scan(blockMatcher, unscreened, more);
          if (found.code() != null) {
            decisions.decided(Guards.Action.BLOCK, TenantConfig.Direction.OUTPUT, found.code());
            failStage(Guards.blockedOutput(found.code()));
            return null;
          }
          passed = unscreened.substring(0, found.settled());
          unscreened.delete(0, found.settled());
        }
        if (!guard.redactOutput) {
          return passed;
        }
        unredacted.append(passed);
        Redactor.Redaction r = guard.redactor.redact(unredacted, more);
        r.kinds().forEach(kind -> decisions.decided(Guards.Action.REDACT, TenantConfig.Direction.OUTPUT, kind));
        unredacted.delete(0, r.settled());
        return r.text();
      }
    };
  }
}
