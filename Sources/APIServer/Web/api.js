// The REST API (/api/v1), as the CLI uses it. An error reply's message (and the field it names)
// becomes the thrown error.
export class APIError extends Error {
  constructor(message, field) {
    super(message);
    this.field = field;
  }
}

async function call(method, path, body) {
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers: { Accept: "application/json", "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const reply = text ? JSON.parse(text) : null;
  if (!response.ok) throw new APIError(reply?.message ?? response.statusText, reply?.field);
  return reply;
}

export const get = (path) => call("GET", path);
export const post = (path, body) => call("POST", path, body);
export const remove = (path) => call("DELETE", path);
