// Chatbot UI's original `POST /api/chat/openai` route (app/api/chat/openai/route.ts),
// on Node's own http server, as the benchmark's reference: the same packages
// (openai 4, ai 2.2's OpenAIStream and StreamingTextResponse), the same request to
// the upstream and the same answers, without Next.js around it.
//
// Settings, from the environment:
//   HOST, PORT              where to listen
//   OPENAI_BASE_URL         the upstream (read by the openai package itself)
//   CHAT_TOKEN              the bearer token of the one user
//   CHAT_OPENAI_API_KEY     that user's OpenAI key
import http from "node:http";

import { OpenAIStream, StreamingTextResponse } from "ai";
import OpenAI from "openai";

// The original reads the signed-in user's profile from Supabase. Here it is a
// fixed profile in memory, found by the request's bearer token: a lookup about
// as cheap as chatgate's cached identity, so neither side pays for a database.
const profiles = new Map([
  [
    process.env.CHAT_TOKEN ?? "",
    { openai_api_key: process.env.CHAT_OPENAI_API_KEY ?? "", openai_organization_id: null },
  ],
]);

function getServerProfile(request) {
  const authorization = request.headers.authorization ?? "";
  const profile = profiles.get(authorization.replace(/^Bearer /, ""));
  if (profile === undefined) {
    throw new Error("User not found");
  }
  return profile;
}

function checkApiKey(apiKey, keyName) {
  if (apiKey === null || apiKey === "") {
    throw new Error(`${keyName} API Key not found`);
  }
}

// The route as the original has it, line for line but for the profile.
async function POST(request) {
  const json = await request.json();
  const { chatSettings, messages } = json;

  try {
    const profile = getServerProfile(request);

    checkApiKey(profile.openai_api_key, "OpenAI");

    const openai = new OpenAI({
      apiKey: profile.openai_api_key || "",
      organization: profile.openai_organization_id,
    });

    const response = await openai.chat.completions.create({
      model: chatSettings.model,
      messages: messages,
      temperature: chatSettings.temperature,
      max_tokens:
        chatSettings.model === "gpt-4-vision-preview" || chatSettings.model === "gpt-4o"
          ? 4096
          : null,
      stream: true,
    });

    const stream = OpenAIStream(response);

    return new StreamingTextResponse(stream);
  } catch (error) {
    let errorMessage = error.message || "An unexpected error occurred";
    const errorCode = error.status || 500;

    if (errorMessage.toLowerCase().includes("api key not found")) {
      errorMessage = "OpenAI API Key not found. Please set it in your Server Profile page.";
    } else if (errorMessage.toLowerCase().includes("incorrect api key")) {
      errorMessage = "OpenAI API Key is incorrect. Please fix it in your Server Profile page.";
    }

    return new Response(JSON.stringify({ message: errorMessage }), {
      status: errorCode,
    });
  }
}

// The bridge between node:http and the route's web objects, kept lean so that it
// does not weigh on the figures. Inbound, no web Request is built: the route
// reads only `request.json()` and (here) the authorization header, so it gets
// the IncomingMessage's headers and a json() over the body's bytes. Outbound,
// the route's web Response is real (StreamingTextResponse is one): its status
// and headers are copied to the ServerResponse, and its body stream is read
// chunk by chunk into res.write(), waiting for 'drain' when the socket is
// full; a client that leaves cancels the stream, which closes the upstream's.
function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

async function writeResponse(response, res) {
  const headers = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  res.writeHead(response.status, headers);
  if (response.body === null) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  res.on("close", () => {
    if (!res.writableFinished) reader.cancel().catch(() => {});
  });
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!res.write(value)) {
      await new Promise((resolve) => res.once("drain", resolve));
    }
  }
  res.end();
}

function sendJson(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

async function handle(req, res) {
  if (req.method !== "POST" || req.url !== "/api/chat/openai") {
    sendJson(res, 404, { message: "Not found" });
    return;
  }
  const body = await readBody(req);
  const request = { headers: req.headers, json: async () => JSON.parse(body.toString("utf8")) };
  let response;
  try {
    response = await POST(request);
  } catch (error) {
    // What the original leaves to Next.js: a body that is not JSON.
    sendJson(res, 500, { message: String(error?.message ?? error) });
    return;
  }
  await writeResponse(response, res);
}

const server = http.createServer((req, res) => {
  handle(req, res).catch(() => res.destroy());
});
// Longer than Node's default of 5 s, so that the load generator's idle
// keep-alive connections stay open between its requests.
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? "127.0.0.1", () => {
  const { address, port } = server.address();
  console.log(`node reference listening on http://${address}:${port}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => process.exit(0));
}
