// The admin API from the browser: the admin key lives in this tab's sessionStorage only and
// travels as a Bearer header, never in a URL.

const STORAGE = "openscope.adminKey";

export function savedKey() {
  return sessionStorage.getItem(STORAGE) || "";
}

export function saveKey(key) {
  sessionStorage.setItem(STORAGE, key);
}

export function forgetKey() {
  sessionStorage.removeItem(STORAGE);
}

/** A refusal from the server, with its HTTP status and the server's own message. */
export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }

  /** What the operator should read: the status in words, then the server's message. */
  explain() {
    if (this.status === 401) {
      return `The admin key was refused (401 Unauthorized): ${this.message} Check the key and enter it again.`;
    }
    if (this.status === 403) {
      return `This key may not use the admin API (403 Forbidden): ${this.message} Use a key with the admin scope.`;
    }
    if (this.status === 0) return `The server could not be reached: ${this.message}`;
    return `The server refused this (${this.status}): ${this.message}`;
  }
}

/** One admin call: `path` under the server's root, `query` an object whose array values
 * repeat, `body` sent as JSON. Resolves to the parsed answer or throws ApiError. */
export async function call(method, path, { query, body } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === "") continue;
    for (const one of Array.isArray(value) ? value : [value]) url.searchParams.append(name, one);
  }
  const headers = { Authorization: `Bearer ${savedKey()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch (error) {
    throw new ApiError(0, String(error.message || error));
  }
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!response.ok) {
    const error = parsed && parsed.error ? parsed.error : {};
    throw new ApiError(response.status, error.message || text || response.statusText, error.code);
  }
  return parsed;
}
