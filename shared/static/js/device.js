/*
 * OneWindow (一窗通) front-end layer — a paired device (kiosk, evaluation tablet): its token, kept in this
 * browser's local storage and sent by the API client as "Authorization: Bearer"; pairing by typing the token on
 * the page's pairing screen or by opening the page as <url>#pair=<token> (a fragment never reaches the server's
 * logs); and asking the server which device a token is.
 *
 *   const device = pairedDevice("ow.kiosk.token");
 *   device.takeLink();                        // #pair=<token> in the address: stored, and removed from the address
 *   device.token()  /  device.store(token)  /  device.forget()
 *   await device.whoIs(api, token)            // {ok: true, device} | {ok: false, reason: "bad" | "network"}
 */
import { ApiError, hallInfo } from "./api.js";

export function pairedDevice(storageKey) {
  // one browser may be the kiosk of one hall and open another hall's pages: a token is kept per hall when the
  // server serves several ("ow.kiosk.token@/h/east"); the only hall keeps the plain key
  const { live } = hallInfo();
  if (live) storageKey = storageKey + "@" + live;
  return {
    token() {
      try { return localStorage.getItem(storageKey); } catch (e) { return null; }
    },
    store(token) {
      try { localStorage.setItem(storageKey, token); } catch (e) { /* private mode: paired for this page only */ }
    },
    forget() {
      try { localStorage.removeItem(storageKey); } catch (e) { /* nothing stored */ }
    },
    /** Store the token of a pairing link (#pair=<token>) and take it out of the address bar; true if there was one. */
    takeLink() {
      const m = /(?:^#|&)pair=([^&]+)/.exec(location.hash || "");
      if (!m) return false;
      this.store(decodeURIComponent(m[1]));
      history.replaceState(null, "", location.pathname + location.search);
      return true;
    },
    /** Which device `token` is, as the server says (GET /api/v1/me with it). */
    async whoIs(api, token) {
      try {
        const me = await api.get("/api/v1/me", { token });
        return me.device ? { ok: true, device: me.device } : { ok: false, reason: "bad" };
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) return { ok: false, reason: "bad" };
        return { ok: false, reason: "network" };
      }
    },
  };
}
