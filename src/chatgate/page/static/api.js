// Requests to chatgate with the session cookie; a failure throws the server's own message.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// chatgate answers {"message"}; /v1 answers OpenAI's {"error": {"message"}}.
export function errorMessage(status, data) {
  if (data && typeof data.message === "string") return data.message;
  if (data && data.error && typeof data.error.message === "string") return data.error.message;
  return `The server answered ${status}`;
}

export async function failure(response) {
  let data = null;
  try {
    data = await response.json();
  } catch {
    // not JSON: the status says it
  }
  return new ApiError(response.status, errorMessage(response.status, data));
}

export async function api(method, path, body, options = {}) {
  const init = { method, credentials: "same-origin", headers: {}, signal: options.signal };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : response.text();
}
