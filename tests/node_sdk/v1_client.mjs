// The official openai Node SDK against chatgate's /v1: what a Node client sees.
// CHATGATE_URL and CHATGATE_TOKEN say where and who; MODELS (JSON) which models
// to chat with. Prints one JSON object of what came back.
import OpenAI from "openai";

const baseURL = process.env.CHATGATE_URL + "/v1";
const client = new OpenAI({ baseURL, apiKey: process.env.CHATGATE_TOKEN, maxRetries: 0 });
const tool = {
  type: "function",
  function: {
    name: "get_weather",
    parameters: { type: "object", properties: { city: { type: "string" } } },
  },
};
const ask = (content) => [{ role: "user", content }];

async function errorOf(work) {
  try {
    await work();
    return null;
  } catch (error) {
    return { class: error.constructor.name, status: error.status ?? null, code: error.code ?? null };
  }
}

async function chatWith(model) {
  const answer = await client.chat.completions.create({ model, messages: ask("Hello") });
  const stream = await client.chat.completions.create({
    model,
    messages: ask("Hello"),
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = "";
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.choices.length) {
      text += chunk.choices[0].delta.content ?? "";
      finish = chunk.choices[0].finish_reason ?? finish;
    }
    usage = chunk.usage ?? usage;
  }
  const called = await client.chat.completions.create({
    model,
    messages: ask("#fake tool=get_weather chunks=0"),
    tools: [tool],
  });
  const call = called.choices[0].message.tool_calls?.[0];
  return {
    answer: answer.choices[0].message.content,
    streamed: text,
    finish,
    usage,
    toolCall: call ? { name: call.function.name, arguments: call.function.arguments } : null,
    toolFinish: called.choices[0].finish_reason,
  };
}

const result = { models: (await client.models.list()).data.map((model) => model.id), chats: {} };
for (const model of JSON.parse(process.env.MODELS)) {
  result.chats[model] = await chatWith(model);
}
const stranger = new OpenAI({ baseURL, apiKey: "cg_wrong", maxRetries: 0 });
result.errors = {
  badToken: await errorOf(() => stranger.models.list()),
  unknownModel: await errorOf(() =>
    client.chat.completions.create({ model: "nowhere/model", messages: ask("Hi") }),
  ),
  midStream: await errorOf(async () => {
    const stream = await client.chat.completions.create({
      model: "gpt-4o",
      messages: ask("#fake error_after=2"),
      stream: true,
    });
    for await (const _chunk of stream) {
      // read to the error
    }
  }),
};
console.log(JSON.stringify(result));
