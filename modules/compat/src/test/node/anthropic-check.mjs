// The official @anthropic-ai/sdk package against a running Atrium node whose model "mock" is
// an OpenAI-compatible upstream. AnthropicNodeClientTest runs it with ATRIUM_BASE_URL and
// ATRIUM_API_KEY set and reads the one JSON line it prints: every check's raw outcome,
// asserted in Java.
import Anthropic from '@anthropic-ai/sdk';

const base = process.env.ATRIUM_BASE_URL;
const apiKey = process.env.ATRIUM_API_KEY;
const client = new Anthropic({ baseURL: base, apiKey, maxRetries: 0, timeout: 30_000 });
const hello = { model: 'mock', max_tokens: 256, messages: [{ role: 'user', content: 'Hello from @anthropic-ai/sdk' }] };
const lookup = { name: 'lookup', description: 'Looks a word up', input_schema: { type: 'object' } };

async function nonStreaming() {
  const message = await client.messages.create({ ...hello, system: 'Be brief.' });
  return { id: message.id, type: message.type, model: message.model, content: message.content,
    stopReason: message.stop_reason, usage: message.usage };
}

async function streaming() {
  const stream = client.messages.stream(hello);
  let text = '';
  const events = [];
  stream.on('text', (delta) => { text += delta; });
  stream.on('streamEvent', (event) => { events.push(event.type); });
  const message = await stream.finalMessage();
  return { text, events, content: message.content, stopReason: message.stop_reason, usage: message.usage };
}

async function toolUse() {
  const called = await client.messages.stream({ ...hello, tools: [lookup], tool_choice: { type: 'any' } })
    .finalMessage();
  const use = called.content.find((block) => block.type === 'tool_use');
  const answered = await client.messages.create({
    ...hello,
    tools: [lookup],
    messages: [...hello.messages, { role: 'assistant', content: called.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'a word' }] }],
  });
  return { calledStopReason: called.stop_reason, use, answeredStopReason: answered.stop_reason,
    answeredContent: answered.content };
}

async function sessionTurn() {
  const headers = { 'x-api-key': apiKey, 'Content-Type': 'application/json' };
  const created = await fetch(`${base}/v1/chat/sessions`, { method: 'POST', headers, body: '{}' });
  const session = await created.json();
  const message = await client.messages.create(
    { model: 'mock', max_tokens: 64, messages: [{ role: 'user', content: 'Remember this turn' }] },
    { headers: { 'x-session-id': session.id } },
  );
  const history = await fetch(`${base}/v1/chat/sessions/${session.id}/messages`, { headers });
  return {
    createStatus: created.status,
    text: message.content[0].text,
    history: (await history.json()).data.map((m) => ({ role: m.role, content: m.content })),
  };
}

async function raised(call) {
  try {
    await call();
    return { raised: null };
  } catch (error) {
    return { raised: error.constructor.name, status: error.status, type: error.error?.error?.type,
      message: error.error?.error?.message, requestId: error.requestID };
  }
}

const result = {
  nonStreaming: await nonStreaming(),
  streaming: await streaming(),
  toolUse: await toolUse(),
  session: await sessionTurn(),
  wrongKey: await raised(() => new Anthropic({ baseURL: base, apiKey: 'not-a-key', maxRetries: 0 })
    .messages.create(hello)),
  unknownModel: await raised(() => client.messages.create({ ...hello, model: 'claude-nope' })),
  badRequest: await raised(() => client.messages.create({ ...hello, top_k: 5 })),
};
console.log(JSON.stringify(result));
