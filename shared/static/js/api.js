/*
 * OneWindow (一窗通) front-end layer — the API client. Every page talks to /api/v1 through it.
 *
 *   const api = createApi({token: () => storedToken, csrf: () => session.csrf, onUnauthorized: (err) => …});
 *   const data = await api.get("/api/v1/me");
 *   await api.post(`/api/v1/windows/${n}/call-next`, {});          // → the reply's JSON
 *   api.put(path, body), api.del(path, body)
 *   const svg = await api.get("/api/v1/supervisor/charts/load.svg?period=day", {text: true});  // the body as text
 *
 * What every request gets: JSON in and out, no cache, the session cookie (same origin), the device's
 * `Authorization: Bearer` token when `token()` gives one, the session's `X-CSRF-Token` on state changes when
 * `csrf()` gives one, and a time limit (`timeoutMs`). `{text: true}` gives a successful answer's body as text (an SVG
chart) instead of JSON; a failure is still the server's JSON error.
 *
 * What every state change (POST/PUT/DELETE) gets: one fresh `Idempotency-Key` per call — one call is one action —
 * sent again unchanged when the call is retried after a network error or a 502/503/504 (the server may have acted
 * and its answer was lost: the retry is answered from the first run, never done twice). `retries` (delays in ms;
 * default RETRY_DELAYS_MS) and `onRetry(attempt)` tune that; `{idempotent: false}` leaves the key out (an API with
 * its own id for the action, like the kiosk's request_id).
 *
 * Several halls, one server: a page of hall "east" is served under /h/east/ and its boot data (the JSON in
 * <script id="boot">) says so — `base` ("/h/east", or "" at /) and `live` (the prefix of the hall's Socket.IO
 * namespaces). Every path the client is given as "/api/v1/…" goes to `base + "/api/v1/…"`; `hallPath(p)` does the
 * same for a page's own links ("/kiosk/qr/…", "/book"), `hallNamespace(ns)` for "/display" and "/staff".
 *
 * Failures are thrown as ApiError {code, message, status, details}: the server's {"error": {code, message,
 * details}}, or code "network" (no answer), "timeout", "http_<status>" (an answer without an error body). Pages
 * turn codes into sentences in their own language; they never show `message` to citizens.
 */

export const RETRY_DELAYS_MS = [500, 1500, 3000];
export const RETRY_STATUSES = new Set([502, 503, 504]);  // the answer may have been lost on the way: ask again
const SAFE = new Set(["GET", "HEAD"]);

/** A failed API call: `code` is what pages translate; `status` is 0 when no answer came. */
export class ApiError extends Error {
  constructor(code, message, status = 0, details = {}) {
    super(message || code);
    this.name = "ApiError";
    this.code = code;
    this.status = status;
    this.details = details || {};
  }
}

/** 128 random bits as hex (crypto.getRandomValues works on plain-http hall networks; randomUUID does not). */
export function newKey(prefix = "k") {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

let hallBoot = null;

/** `base` and `live` of this page's boot data (both "" when the page has none: the only hall, at /). */
export function hallInfo() {
  if (hallBoot === null) {
    let boot = {};
    try {
      const el = globalThis.document && document.getElementById("boot");
      boot = (el && JSON.parse(el.textContent || "{}")) || {};
    } catch (e) { boot = {}; }
    hallBoot = { base: typeof boot.base === "string" ? boot.base : "", live: typeof boot.live === "string" ? boot.live : "" };
  }
  return hallBoot;
}

/** A path of this hall: "/kiosk/qr/x.svg" → "/h/east/kiosk/qr/x.svg" on a page of hall east (unchanged at /, and
 *  for a path already under the base or under the shared /assets). */
export function hallPath(path) {
  const { base } = hallInfo();
  if (!base || typeof path !== "string" || !path.startsWith("/") || path.startsWith(base + "/") ||
      path.startsWith("/assets/")) return path;
  return base + path;
}

/** The hall's Socket.IO namespace: "/display" → "/h/east/display" when the server serves several halls. */
export function hallNamespace(namespace) {
  const { live } = hallInfo();
  return live && (namespace === "/display" || namespace === "/staff") ? live + namespace : namespace;
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** An API client for one page (see the header for the options). */
export function createApi({ token = () => null, csrf = () => null, onUnauthorized = null, timeoutMs = 15000 } = {}) {
  async function once(method, path, headers, body, limitMs) {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), limitMs);
    try {
      return await fetch(path, { method, headers, body, credentials: "same-origin", cache: "no-store", signal: ctrl.signal });
    } catch (e) {
      throw new ApiError(ctrl.signal.aborted ? "timeout" : "network", String(e && e.message || e));
    } finally {
      clearTimeout(timer);
    }
  }

  async function request(method, path, body, opts = {}) {
    if (typeof path === "string" && path.startsWith("/api/")) path = hallPath(path);
    const headers = { Accept: opts.text ? "*/*" : "application/json" };
    const bearer = opts.token !== undefined ? opts.token : token();
    if (bearer) headers.Authorization = "Bearer " + bearer;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const changes = !SAFE.has(method);
    const secret = changes ? csrf() : null;
    if (secret) headers["X-CSRF-Token"] = secret;
    if (changes && opts.idempotent !== false) headers["Idempotency-Key"] = newKey("c");
    const delays = opts.retries || (changes ? RETRY_DELAYS_MS : []);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    let response;
    for (let attempt = 0; ; attempt++) {
      try {
        response = await once(method, path, headers, payload, opts.timeoutMs || timeoutMs);
      } catch (err) {
        if (attempt < delays.length) { opts.onRetry?.(attempt + 1, err); await pause(delays[attempt]); continue; }
        throw err;
      }
      if (RETRY_STATUSES.has(response.status) && attempt < delays.length) {
        opts.onRetry?.(attempt + 1, response.status);
        await pause(delays[attempt]);
        continue;
      }
      break;
    }
    const data = opts.text && response.ok ? await response.text() : await response.json().catch(() => null);
    if (!response.ok) {
      const e = (data && data.error) || {};
      const err = new ApiError(e.code || "http_" + response.status, e.message || response.statusText, response.status, e.details);
      if (response.status === 401 && onUnauthorized) onUnauthorized(err);
      throw err;
    }
    if (opts.withStatus) return { status: response.status, data, replayed: response.headers.get("Idempotent-Replayed") === "true" };
    return data;
  }

  return {
    request,
    get: (path, opts) => request("GET", path, undefined, opts),
    post: (path, body = {}, opts) => request("POST", path, body, opts),
    put: (path, body = {}, opts) => request("PUT", path, body, opts),
    del: (path, body = {}, opts) => request("DELETE", path, body, opts),
  };
}
