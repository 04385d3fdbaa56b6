/*
 * OneWindow (一窗通) front-end layer — the client of the card-reader agent (docs/realname.md, "The card-reader agent
 * contract"): a small program on the kiosk PC reads the 二代证 through its vendor's SDK and offers each read on
 * http://127.0.0.1:18645 (the kiosk's [realname] card_reader). This module long-polls it and hands each placement
 * to the page once.
 *
 *   const reader = new CardReader({ base: BOOT.card_reader, onCard: (card) => …, onStatus: (s) => … });
 *   reader.start();   // reader.stop()
 *
 * - First GET /v1/status: its `seq` is where reading starts (a card placed before the page loaded is not taken).
 * - Then GET /v1/card?after=<seq>&wait=20 in a loop: 200 → onCard(card, seq); 204 → ask again; 503 → status
 *   "disconnected" / "error" and ask again after a pause; no answer (no agent on this PC) → "absent", retried with
 *   backoff up to 30 s.
 * - The agent is another origin: a CORS request without credentials and without the kiosk's token (the agent
 *   answers only the hall's origins; the page's CSP allows connect-src to that one address, see onewindow/web.py).
 * - The card object (name, ID number, …) is handed over and not kept here; nothing of it is logged.
 *
 * This is the one place besides api.js that calls fetch: the agent is not the API (other origin, no token).
 */

export const READER_STATUS = { connecting: "connecting", ready: "ready", disconnected: "disconnected",
                               error: "error", absent: "absent" };
const WAIT_SECONDS = 20;
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class CardReader {
  constructor({ base, onCard, onStatus = () => {}, waitSeconds = WAIT_SECONDS }) {
    this.base = String(base || "").replace(/\/+$/, "");
    this.onCard = onCard;
    this.onStatus = onStatus;
    this.waitSeconds = waitSeconds;
    this.status = READER_STATUS.connecting;
    this.seq = null;
    this.running = false;
    this.ctrl = null;
  }

  start() {
    if (this.running || !this.base) return this;
    this.running = true;
    this.loop();
    return this;
  }

  stop() {
    this.running = false;
    if (this.ctrl) this.ctrl.abort();
  }

  setStatus(status) {
    if (status === this.status) return;
    this.status = status;
    this.onStatus(status);
  }

  async get(path, limitMs) {
    this.ctrl = new AbortController();
    const timer = setTimeout(() => this.ctrl.abort(), limitMs);
    try {
      return await fetch(this.base + path, { method: "GET", mode: "cors", credentials: "omit", cache: "no-store",
                                             signal: this.ctrl.signal, headers: { Accept: "application/json" } });
    } finally {
      clearTimeout(timer);
    }
  }

  async loop() {
    let backoff = 1000;
    while (this.running) {
      try {
        if (this.seq === null) {
          const r = await this.get("/v1/status", 5000);
          const status = await r.json();
          this.seq = Number(status.seq) || 0;
          this.setStatus(status.reader === "ready" ? READER_STATUS.ready : status.reader === "disconnected"
            ? READER_STATUS.disconnected : READER_STATUS.error);
          if (status.reader !== "ready") { await pause(2000); this.seq = null; continue; }
        }
        const r = await this.get(`/v1/card?after=${this.seq}&wait=${this.waitSeconds}`, (this.waitSeconds + 10) * 1000);
        backoff = 1000;
        if (r.status === 204) { this.setStatus(READER_STATUS.ready); continue; }
        if (r.status === 503) {
          const body = await r.json().catch(() => ({}));
          const code = body && body.error && body.error.code;
          this.setStatus(code === "reader_disconnected" ? READER_STATUS.disconnected : READER_STATUS.error);
          await pause(2000);
          continue;
        }
        if (!r.ok) { this.setStatus(READER_STATUS.error); await pause(2000); continue; }
        const read = await r.json();
        this.setStatus(READER_STATUS.ready);
        if (typeof read.seq === "number" && read.seq > this.seq && read.card) {
          this.seq = read.seq;
          this.onCard(read.card, read.seq);
        }
      } catch (e) {
        if (!this.running) return;
        this.setStatus(READER_STATUS.absent);
        this.seq = null;
        await pause(backoff);
        backoff = Math.min(30000, backoff * 2);
      }
    }
  }
}
