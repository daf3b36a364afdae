// Shared by every page: the API key, JSON calls that turn the OpenAI error envelope into a
// readable error, and a small element builder (the pages build the DOM; no HTML strings).

const KEY_STORAGE = "modelport.apiKey";

export function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE) || "";
}

export function setApiKey(value) {
  if (value) sessionStorage.setItem(KEY_STORAGE, value);
  else sessionStorage.removeItem(KEY_STORAGE);
}

export function authHeaders(extra = {}) {
  const key = apiKey();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : { ...extra };
}

/** An error answered by a server: its status and the envelope's message, type and param. */
export class ApiError extends Error {
  constructor(status, message, type = null, param = null) {
    super(message);
    this.status = status;
    this.type = type;
    this.param = param;
  }

  describe() {
    const what = this.status ? `Error ${this.status}` : "Error";
    const param = this.param ? ` (${this.param})` : "";
    return `${what}: ${this.message}${param}`;
  }
}

/** The ApiError of a failed response (the envelope's message, or the status text). */
export async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: said with the status below
  }
  const error = body && body.error;
  if (error && typeof error.message === "string") {
    return new ApiError(response.status, error.message, error.type, error.param);
  }
  const hint = response.status === 401 ? " — enter the server's API key at the top" : "";
  return new ApiError(response.status, `${response.statusText || "request failed"}${hint}`);
}

export function networkError(url, cause) {
  return new ApiError(0, `Cannot reach ${url}: ${cause.message || cause}. Is the server running ` +
    "(and, for another origin, started with --cors-origin set to this page's origin)?");
}

const API_BASE = new URL("api/", document.baseURI);

/** Call the UI's JSON API: ``api("experiments")``, ``api("runs/x", {method, body})``. */
export async function api(path, { method = "GET", body, query } = {}) {
  const url = new URL(path, API_BASE);
  for (const [name, value] of Object.entries(query || {})) {
    if (Array.isArray(value)) value.forEach((v) => url.searchParams.append(name, v));
    else if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const headers = authHeaders(body === undefined ? {} : { "Content-Type": "application/json" });
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (cause) {
    throw networkError(url.origin, cause);
  }
  if (!response.ok) throw await errorOf(response);
  return response.json();
}

/** A URL of the API with the key sent by fetch, for downloads: the file as a Blob. */
export async function apiBlob(path, query) {
  const url = new URL(path, API_BASE);
  for (const [name, value] of Object.entries(query || {})) url.searchParams.set(name, value);
  const response = await fetch(url, { headers: authHeaders() });
  if (!response.ok) throw await errorOf(response);
  return response.blob();
}

/** ``h("a", {href: "#/x", class: "y"}, "text", child)``: an element. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (name in element && typeof value !== "string") element[name] = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** A region that shows an error readably (role=alert so screen readers announce it). */
export function errorBox(error) {
  const text = error instanceof ApiError ? error.describe() : `Error: ${error.message || error}`;
  return h("p", { class: "error", role: "alert" }, text);
}

/** A real table: ``columns`` are header texts (or elements), ``rows`` arrays of cells. */
export function table(caption, columns, rows, { empty = "Nothing yet." } = {}) {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h(
    "table",
    {},
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, row.map((cell) => h("td", {}, cell))))),
  );
}

/** A two-column table of name → value, with row headers. */
export function keyValues(caption, entries, { empty = "None." } = {}) {
  if (!entries.length) return h("p", { class: "empty" }, `${caption}: ${empty}`);
  return h(
    "table",
    { class: "kv" },
    h("caption", {}, caption),
    h("tbody", {}, entries.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, v)))),
  );
}

export function formatTime(ms) {
  if (!ms) return "–";
  return new Date(ms).toLocaleString();
}

export function formatNumber(value) {
  if (value === undefined || value === null) return "–";
  if (typeof value !== "number") return String(value);
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 1e5 || Math.abs(value) < 1e-3 ? value.toExponential(4) : value.toPrecision(6).replace(/\.?0+$/, "");
}

export function formatSize(bytes) {
  if (bytes === undefined || bytes === null) return "–";
  const units = ["B", "KB", "MB", "GB"];
  let size = bytes;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${size} B` : `${size.toFixed(1)} ${units[unit]}`;
}

/** Save a Blob as a file named ``name`` (a download the browser shows). */
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
