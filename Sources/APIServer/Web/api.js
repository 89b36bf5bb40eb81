// GET on the REST API; an error reply's message becomes the thrown error.
export async function get(path) {
  const response = await fetch(`/api/v1${path}`, { headers: { Accept: "application/json" } });
  const body = await response.json();
  if (!response.ok) throw new Error(body.message ?? response.statusText);
  return body;
}
