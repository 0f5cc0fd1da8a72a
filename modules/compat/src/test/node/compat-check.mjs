// The official openai npm package against a running Atrium node. OpenAiNodeClientTest runs
// it with ATRIUM_BASE_URL and ATRIUM_API_KEY set and reads the one JSON line it prints:
// every check's raw outcome, asserted in Java.
import OpenAI from 'openai';

const base = process.env.ATRIUM_BASE_URL;
const apiKey = process.env.ATRIUM_API_KEY;
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey, maxRetries: 0, timeout: 30_000 });

async function nonStreaming() {
  const completion = await client.chat.completions.create({
    model: 'local',
    messages: [{ role: 'user', content: 'Hello from the openai npm package' }],
  });
  return {
    object: completion.object,
    model: completion.model,
    content: completion.choices[0].message.content,
    finishReason: completion.choices[0].finish_reason,
    usage: completion.usage,
  };
}

async function streaming() {
  const stream = await client.chat.completions.create({
    model: 'local',
    messages: [{ role: 'user', content: 'Hello from the openai npm package' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let content = '';
  let chunks = 0;
  let finishReason = null;
  let usage = null;
  let usageChunkChoices = null;
  for await (const chunk of stream) {
    chunks += 1;
    for (const choice of chunk.choices) {
      content += choice.delta?.content ?? '';
      finishReason = choice.finish_reason ?? finishReason;
    }
    if (chunk.usage) {
      usage = chunk.usage;
      usageChunkChoices = chunk.choices.length;
    }
  }
  return { content, chunks, finishReason, usage, usageChunkChoices };
}

async function sessionTurn() {
  const headers = { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' };
  const created = await fetch(`${base}/v1/chat/sessions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ title: 'openai npm package' }),
  });
  const session = await created.json();
  const completion = await client.chat.completions.create(
    { model: 'local', messages: [{ role: 'user', content: 'Remember this turn' }] },
    { headers: { 'x-session-id': session.id } },
  );
  const history = await fetch(`${base}/v1/chat/sessions/${session.id}/messages`, { headers });
  return {
    createStatus: created.status,
    sessionId: session.id,
    content: completion.choices[0].message.content,
    historyStatus: history.status,
    history: (await history.json()).data.map((m) => ({ role: m.role, content: m.content })),
  };
}

async function unknownModel() {
  try {
    await client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] });
    return { raised: null };
  } catch (error) {
    return { raised: error.constructor.name, status: error.status, code: error.code, param: error.param };
  }
}

const result = {
  nonStreaming: await nonStreaming(),
  streaming: await streaming(),
  session: await sessionTurn(),
  unknownModel: await unknownModel(),
};
console.log(JSON.stringify(result));
