/*
 * OneWindow (一窗通) front-end layer — what the staff pages (counter workstation, supervisor desk) share: the staff
 * session seen from the page, the connection badge and the toast.
 *
 *   const session = staffSession({onSignedOut: (err) => showLogin(err)});
 *   session.api                      // the API client, with this session's X-CSRF-Token on every state change
 *   await session.me()               // who is signed in (GET /api/v1/me), or throws ApiError
 *   await session.login({username, password, window})
 *   await session.logout()
 *   session.csrf                     // also what the /staff Socket.IO namespace asks for in its handshake
 *   staffSession({paths: {me: "/city/api/v1/me", login: "/city/api/v1/login", logout: "/city/api/v1/logout"}})
 *                                    // the same for the city supervisors' page (/city)
 *
 *   connectionBadge(live, $("#conn"), $("#conn-text"), i18n)   // data-state on | wait | off, words conn_on/…
 *   const toast = toaster($("#toast")); toast("已呼叫 A001"); toast("网络错误", "error");
 *
 *   const ask = lastAsker(session.api, (e) => toast(errText(e), "error"));
 *   const report = await ask("report", "/api/v1/supervisor/report?" + q);   // null: overtaken, or failed
 *   await ask("report", path, {quiet: true})                              // a background refresh: no error shown
 *   await ask("chart", path, {text: true})                                // other options go to api.get
 */
import { createApi } from "./api.js";
import { STATUS } from "./live.js";

export const STAFF_PATHS = { me: "/api/v1/me", login: "/api/v1/login", logout: "/api/v1/logout" };

export function staffSession({ onSignedOut = null, paths = {} } = {}) {
  const at = { ...STAFF_PATHS, ...paths };
  const session = {
    csrf: null,
    user: null,
    api: null,
    async me() {
      const me = await session.api.get(at.me);
      session.csrf = me.csrf_token;
      session.user = me;
      return me;
    },
    async login(fields) {
      const r = await session.api.post(at.login, fields);
      const who = r.clerk || r.supervisor;  // a hall's staff member, or a city supervisor
      session.csrf = r.csrf_token;
      session.user = { id: who.username, name: who.name, role: who.role, window: r.window, csrf_token: r.csrf_token };
      return session.user;
    },
    async logout() {
      try { await session.api.post(at.logout, {}); } finally { session.csrf = null; session.user = null; }
    },
  };
  session.api = createApi({
    csrf: () => session.csrf,
    onUnauthorized: (err) => {  // the session ended on the server (logout elsewhere, released window, expiry)
      if (session.user && onSignedOut) { session.user = null; session.csrf = null; onSignedOut(err); }
    },
  });
  return session;
}

/** Show `live`'s connection on a badge: data-state "on" (live), "wait" (connecting, syncing, reconnecting), "off". */
export function connectionBadge(live, badge, text, i18n) {
  const show = () => {
    const status = live ? live.status : STATUS.stopped;
    const state = status === STATUS.live ? "on" : status === STATUS.stopped ? "off" : "wait";
    badge.dataset.state = state;
    text.textContent = i18n.t("conn_" + state);
  };
  if (live) live.onStatus(show);
  i18n.onChange(show);
  show();
  return show;
}

/** `toast(text, kind)` on a status element: shown for 2.5 s (errors: 5 s). */
export function toaster(el) {
  let timer = null;
  return (text, kind = "ok") => {
    el.textContent = text;
    el.dataset.kind = kind;
    el.classList.toggle("bad", kind === "error");
    el.hidden = false;
    clearTimeout(timer);
    timer = setTimeout(() => { el.hidden = true; }, kind === "error" ? 5000 : 2500);
  };
}

/**
 * GETs where the last ask wins: answers may come back out of order (a slow answer for the range asked before comes
 * after the one for the range asked now), so each `name` numbers its asks and only the latest one counts.
 * `ask(name, path, {quiet})` → the answer, or null when a later ask of the same name was made meanwhile or this one
 * failed; a failure goes to `onError(err)` unless a later ask was made or `quiet` is set (a background refresh). The
 * other options go to `api.get` (`{text: true}`: the answer as text).
 */
export function lastAsker(api, onError) {
  const asked = {};
  return async (name, path, { quiet = false, ...opts } = {}) => {
    const mine = asked[name] = (asked[name] || 0) + 1;
    let answer;
    try {
      answer = await api.get(path, opts);
    } catch (e) {
      if (!quiet && mine === asked[name]) onError(e);
      return null;
    }
    return mine === asked[name] ? answer : null;
  };
}
