package dev.atrium.gateway.cache;

import dev.atrium.gateway.ChatEvent;
import dev.atrium.gateway.ChatMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;

/**
 * Passes a streamed answer through and gathers it (text, tool calls from their fragments,
 * usage, finish reason); when the stream completes and the answer is a complete one
 * ({@link CachedAnswer#of}) it is handed to {@code store}. A stream that fails or that the
 * client cancels hands over nothing. Its state is its own materialisation's.
 */
final class AnswerCollector extends GraphStage<FlowShape<ChatEvent, ChatEvent>> {
  private final Inlet<ChatEvent> in = Inlet.create("AnswerCollector.in");
  private final Outlet<ChatEvent> out = Outlet.create("AnswerCollector.out");
  private final FlowShape<ChatEvent, ChatEvent> shape = FlowShape.of(in, out);
  private final Consumer<CachedAnswer> store;

  AnswerCollector(Consumer<CachedAnswer> store) {
    this.store = store;
  }

  @Override
  public FlowShape<ChatEvent, ChatEvent> shape() {
    return shape;
  }

  /** A tool call as its fragments build it up. */
  private static final class ToolCall {
    String id;
    String type;
    String name;
    final StringBuilder arguments = new StringBuilder();

    ChatMessage.ToolCall built() {
      return new ChatMessage.ToolCall(id, type == null ? "function" : type, name, arguments.toString());
    }
  }

  @Override
  public GraphStageLogic createLogic(Attributes attributes) {
    return new GraphStageLogic(shape) {
      private final StringBuilder text = new StringBuilder();
      private final TreeMap<Integer, ToolCall> toolCalls = new TreeMap<>();
      private ChatEvent.Usage usage;
      private String finishReason;

      {
        setHandler(in, new AbstractInHandler() {
          @Override
          public void onPush() {
            ChatEvent event = grab(in);
            if (event instanceof ChatEvent.Delta delta) {
              text.append(delta.content());
              delta.toolCalls().forEach(this::add);
            } else if (event instanceof ChatEvent.Usage u) {
              usage = u;
            } else if (event instanceof ChatEvent.Finish f) {
              finishReason = f.reason();
            }
            push(out, event);
          }

          private void add(ChatEvent.ToolCallDelta fragment) {
            ToolCall call = toolCalls.computeIfAbsent(fragment.index(), i -> new ToolCall());
            call.id = fragment.id() != null ? fragment.id() : call.id;
            call.type = fragment.type() != null ? fragment.type() : call.type;
            call.name = fragment.name() != null ? fragment.name() : call.name;
            if (fragment.arguments() != null) {
              call.arguments.append(fragment.arguments());
            }
          }

          @Override
          public void onUpstreamFinish() {
            List<ChatMessage.ToolCall> calls = new ArrayList<>(toolCalls.size());
            toolCalls.values().forEach(c -> calls.add(c.built()));
            // A tool call without an id or name is not one a client could answer: not kept.
            if (calls.stream().allMatch(c -> c.id() != null && c.name() != null)) {
              CachedAnswer.of(text.toString(), calls, finishReason, usage).ifPresent(store);
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
    };
  }
}
