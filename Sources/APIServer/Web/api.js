// The REST API (/api/v1), as the CLI uses it. An error reply becomes the thrown error: its
// English message, the field it names, its code, and its reason key with the values for it.
import { formatNumber, t } from "./i18n.js";

export class APIError extends Error {
  constructor(reply, fallback) {
    super(reply?.message ?? fallback);
    this.field = reply?.field;
    this.code = reply?.code;
    this.reason = reply?.reason;
    this.values = reply?.values ?? {};
  }
}

// What to show for an error, in the chosen language: the translation of its reason when there
// is one; else its code's translation before the server's (English) message.
export function errorText(error) {
  if (!(error instanceof APIError)) return String(error);
  const key = `error.${error.reason}`;
  if (error.reason && t(key) !== key) {
    const values = Object.fromEntries(
      Object.entries(error.values).map(([name, value]) => [name, /^\d+$/.test(value) ? formatNumber(Number(value)) : value]),
    );
    if (values.phase) values.phase = t(`phase.${values.phase}`);
    if (values.action) values.action = t(`action.${values.action}`);
    return t(key, values);
  }
  const code = `error.code.${error.code}`;
  return t(code) !== code && t("error.prefix-codes") === "yes" ? `${t(code)}: ${error.message}` : error.message;
}

async function call(method, path, body) {
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers: { Accept: "application/json", "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const reply = text ? JSON.parse(text) : null;
  if (!response.ok) throw new APIError(reply, response.statusText);
  return reply;
}

export const get = (path) => call("GET", path);
export const post = (path, body) => call("POST", path, body);
export const remove = (path) => call("DELETE", path);
