/*
 * OneWindow (一窗通) front-end layer — the live client: one Socket.IO connection per page, events applied strictly
 * in `seq` order on top of a snapshot. Every page that follows the hall uses it; a page adds only its reducer and
 * its view.
 *
 * The contract. The server's event stream carries an increasing `seq`; a snapshot says which `seq` it is valid at.
 *   - on the first connect the client loads the snapshot (`load()`) and takes its `seq` as current; events
 *     arriving while it loads are buffered, then applied;
 *   - on a reconnect it asks the server (Socket.IO `catch_up`, acknowledged) for the events after its `seq` — the
 *     ones it missed without a socket, whichever server process it was on — and applies them in order (their
 *     changes say `caughtUp: true`), then the buffered ones; when the server cannot give them all (trimmed, too
 *     many) or does not answer within `catchUpMs`, it loads the snapshot instead. With `after` it sends `entry`, the
 *     stream entry id of the event at its `seq` (every event carries it, and so does every snapshot): the server
 *     answers only while that entry is still in the stream, so a screen that missed a `stream_rewound` while away
 *     is not caught up onto events after a seq that now names another event (it loads a snapshot). Without a known
 *     entry (a snapshot with none: the stream did not end at its seq, e.g. an empty hall) it sends `after` alone;
 *   - an event with seq <= current is ignored (nothing is applied twice);
 *   - an event with seq > current + 1 means events were missed: it is kept and a fresh snapshot is loaded;
 *   - a snapshot whose seq is LOWER than current (the store was reset) is taken as it is;
 *   - `stream_rewound` {seq} (the relay: a failover lost the newest events, and the next ones reuse their seq): if
 *     the page shows more than `seq`, or a snapshot is loading, buffered events are dropped and a fresh snapshot is
 *     loaded and taken whatever its seq; the events after the message are applied on top of it;
 *   - `resync` {seq, entry, event} (the relay, in place of an event whose view for this page's audience it could not
 *     build): taken in seq order like any event — its seq becomes current — and a fresh snapshot is loaded
 *     (`refreshSoon()`: at once, then at most one per `refreshMs` however many such events come);
 *   - a failed snapshot is retried with backoff; a periodic snapshot (`resyncEveryMs`) and one when the page
 *     becomes visible again are safety nets.
 *
 *   const live = new LiveClient({
 *     namespace: NAMESPACES.display,                 // or NAMESPACES.staff (needs `auth`)
 *     load: () => api.get("/api/v1/display/state"),  // -> {seq, ...}
 *     reducer: {init: (snapshot) => state, apply: (state, event) => RESYNC | anything},   // optional
 *     auth: () => ({csrf}) | ({token}),              // sent in the Socket.IO handshake (staff namespace)
 *   });
 *   live.subscribe((state, change) => render());     // change: {kind: "snapshot", reason, previousSeq, snapshot}
 *                                                    //      or {kind: "event", event, result[, caughtUp]}
 *   live.onStatus((status) => …);                    // "connecting" | "syncing" | "live" | "reconnecting" | "stopped"
 *   live.start();
 *   live.refreshSoon();                              // a fresh snapshot, at most one per `refreshMs` (throttled)
 *
 * A reducer's apply() returns RESYNC when the event cannot be applied to the state (another business day, a
 * figure only the server computes): the client loads a fresh snapshot. `onSnapshot(snap, info)` and
 * `onEvent(ev)` (return RESYNC) remain for pages without a reducer. Tests inject `socket` (anything with
 * on/onAny/connect/disconnect) and call `receive(event)`.
 */

import { hallNamespace } from "/assets/js/api.js";

export const NAMESPACES = { display: "/display", staff: "/staff" };
export const RESYNC = "resync";            // a reducer's answer, and the relay's event (display/namespace.py RESYNC)
export const REWOUND = "stream_rewound";  // display/namespace.py STREAM_REWOUND
export const STATUS = { connecting: "connecting", syncing: "syncing", live: "live", reconnecting: "reconnecting",
                        stopped: "stopped" };

const MAX_HOLES = 3;  // snapshots in a row that may stop short of buffered events before these are dropped

export class LiveClient {
  constructor(opts = {}) {
    if (typeof opts.load !== "function") throw new Error("LiveClient needs load()");
    this.namespace = opts.namespace || NAMESPACES.display;
    this.load = opts.load;
    this.reducer = opts.reducer || null;
    this.auth = opts.auth || null;
    this.console = opts.console || globalThis.console;
    this.resyncEveryMs = opts.resyncEveryMs ?? 5 * 60 * 1000;
    this.refreshMs = opts.refreshMs ?? 1500;
    this.retryMinMs = opts.retryMinMs || 500;
    this.retryMaxMs = opts.retryMaxMs || 15000;
    this.catchUpMs = opts.catchUpMs ?? 5000;  // 0: always a snapshot on reconnect
    this.ioOptions = {
      reconnection: true,
      reconnectionDelay: 500,        // Socket.IO backoff: 0.5 s, 1 s, 2 s … up to the max, with jitter
      reconnectionDelayMax: 5000,
      randomizationFactor: 0.5,
      timeout: 8000,
      transports: ["websocket", "polling"],  // WebSocket first; where a proxy refuses the upgrade, long-polling
      tryAllTransports: true,
      ...(opts.ioOptions || {}),
    };
    this._socketGiven = opts.socket || null;
    this._onSnapshot = opts.onSnapshot || null;
    this._onEvent = opts.onEvent || null;
    this._subscribers = [];
    this._statusListeners = opts.onStatus ? [opts.onStatus] : [];

    this.socket = null;
    this.state = null;           // the reducer's state (null until the first snapshot, or without a reducer)
    this.seq = null;             // seq of the state on screen (null until the first snapshot)
    this.entry = null;           // stream entry id of the event at `seq` (null: not known, e.g. after a snapshot without it)
    this.status = STATUS.stopped;
    this.connected = false;
    this.stats = { connects: 0, snapshots: 0, applied: 0, ignored: 0, gaps: 0, failures: 0, caughtUp: 0, rewinds: 0,
                   told: 0 };
    this._replayed = new WeakSet(); // events that came from a catch-up
    this._buffer = [];           // events waiting for a snapshot (or for a missing predecessor)
    this._loading = null;        // the snapshot promise in flight
    this._again = null;          // a reason to load again once the current load is done
    this._gen = 0;
    this._retryMs = 0;
    this._retryTimer = null;
    this._periodicTimer = null;
    this._refreshTimer = null;
    this._lastRefresh = 0;
    this._started = false;
    this._holes = 0;
    this._rewinding = false;     // the stream went back: buffer until a snapshot, and take it whatever its seq
  }

  /** Call `fn(state, change)` after every snapshot and every applied event. */
  subscribe(fn) {
    this._subscribers.push(fn);
    return () => { this._subscribers = this._subscribers.filter((f) => f !== fn); };
  }

  /** Call `fn(status)` whenever the connection's status changes. */
  onStatus(fn) {
    this._statusListeners.push(fn);
  }

  /** Open the one connection of this page (idempotent). */
  start() {
    if (this._started) return this;
    this._started = true;
    const s = this.socket = this._socketGiven || this._makeSocket();
    s.on("connect", () => {
      this.connected = true;
      this.stats.connects++;
      this._retryMs = 0;
      this.catchUp();
    });
    s.on("disconnect", (reason) => {
      this.connected = false;
      this._setStatus(STATUS.reconnecting);
      // The server sent us away: Socket.IO does not come back by itself in that case.
      if (reason === "io server disconnect") this._later(() => { if (this._started) s.connect(); });
    });
    s.on("connect_error", () => {
      this.connected = false;
      this._setStatus(this.seq === null ? STATUS.connecting : STATUS.reconnecting);
      if (s.active === false) this._later(() => { if (this._started) s.connect(); });
    });
    s.onAny((name, payload) => this.receive(payload, name));
    if (globalThis.document) {
      this._onVisible = () => {
        if (document.visibilityState === "visible" && this.connected) this.resync("visible");
      };
      document.addEventListener("visibilitychange", this._onVisible);
    }
    if (this.resyncEveryMs > 0) {
      this._periodicTimer = setInterval(() => {
        if (this.connected && !this._loading) this.resync("periodic");
      }, this.resyncEveryMs);
    }
    this._setStatus(STATUS.connecting);
    if (typeof s.connect === "function" && !s.connected) s.connect();
    return this;
  }

  stop() {
    this._started = false;
    clearInterval(this._periodicTimer);
    clearTimeout(this._retryTimer);
    clearTimeout(this._refreshTimer);
    if (this._onVisible) document.removeEventListener("visibilitychange", this._onVisible);
    if (this.socket && typeof this.socket.disconnect === "function") this.socket.disconnect();
    this.connected = false;
    this._setStatus(STATUS.stopped);
  }

  _makeSocket() {
    if (typeof globalThis.io !== "function") throw new Error("the Socket.IO client (/assets/vendor/socket.io) is not loaded");
    const options = { autoConnect: false, ...this.ioOptions };
    if (this.auth) options.auth = (cb) => cb(this.auth());  // asked again on every reconnect
    return globalThis.io(hallNamespace(this.namespace), options);  // this hall's namespace (several halls: /h/<id>/…)
  }

  _setStatus(status) {
    if (status === this.status) return;
    this.status = status;
    for (const fn of this._statusListeners) {
      try { fn(status); } catch (e) { this.console.error(e); }
    }
  }

  _later(fn) {
    const delay = this._retryMs = Math.min(this.retryMaxMs, Math.max(this.retryMinMs, this._retryMs * 2));
    clearTimeout(this._retryTimer);
    this._retryTimer = setTimeout(fn, delay * (0.75 + Math.random() * 0.5));
  }

  _notify(change) {
    for (const fn of this._subscribers) {
      try { fn(this.state, change); } catch (e) { this.console.error("live: subscriber failed", e); }
    }
  }

  /** One event from the socket (public so that tests and other transports can feed events). */
  receive(ev, name) {
    if (!ev || typeof ev !== "object" || typeof ev.seq !== "number") return;
    if (!ev.type && name) ev.type = name;
    if (ev.type === REWOUND) { this.rewound(ev.seq); return; }
    if (this._loading || this.seq === null || this._rewinding) {
      this._buffer.push(ev);
      return;
    }
    if (ev.seq <= this.seq) {
      this.stats.ignored++;
      return;
    }
    if (ev.seq > this.seq + 1) {
      this.stats.gaps++;
      this._buffer.push(ev);
      this.resync("gap");
      return;
    }
    this._apply(ev);
    if (this._buffer.length) this._drain(false);
  }

  _apply(ev) {
    this.seq = ev.seq;
    this.entry = typeof ev.entry === "string" ? ev.entry : null;
    if (ev.type === RESYNC) {  // the server could not give this page the event: its state, soon (throttled)
      this.stats.told++;
      this.refreshSoon("told");
      return;
    }
    this.stats.applied++;
    let answer;
    try {
      if (this.reducer && this.state !== null) answer = this.reducer.apply(this.state, ev);
      if (this._onEvent) answer = this._onEvent(ev) ?? answer;
    } catch (e) { this.console.error("live: event handler failed", e); }
    if (answer === RESYNC) { this.resync("handler"); return; }
    this._notify(this._replayed.has(ev) ? { kind: "event", event: ev, result: answer, caughtUp: true }
                                        : { kind: "event", event: ev, result: answer });
  }

  /** The server's stream went back to `seq` (a failover lost events this page may show; the next events reuse
      their seq). A page at or below `seq` with no snapshot loading shows nothing lost; otherwise what is buffered
      is void, a snapshot in flight may predate the loss: load a fresh one, take it whatever its seq, and apply the
      events that arrive meanwhile on top of it. */
  rewound(seq) {
    if (!this._started) return;
    if (!this._loading && !this._rewinding && this.seq !== null && this.seq <= seq) return;
    this.stats.rewinds++;
    this._buffer = [];
    this._rewinding = true;
    this._gen++;              // a load in flight is void
    this._loading = null;
    this._again = null;
    this.resync("rewound");
  }

  /** A fresh snapshot soon: at most one per `refreshMs`, however many events ask (bursts cost two loads). */
  refreshSoon(reason = "refresh") {
    if (this._refreshTimer) return;
    const wait = Math.max(0, this._lastRefresh + this.refreshMs - Date.now());
    this._refreshTimer = setTimeout(() => {
      this._refreshTimer = null;
      this._lastRefresh = Date.now();
      this.resync(reason);
    }, wait);
  }

  /** Load a fresh snapshot (coalesced: a call while one is loading loads once more afterwards). */
  resync(reason) {
    if (!this._started) return Promise.resolve();
    if (this._loading) {
      this._again = this._again || reason || "again";
      return this._loading;
    }
    clearTimeout(this._retryTimer);
    const gen = ++this._gen;
    if (this.seq === null || reason === "connect") this._setStatus(STATUS.syncing);
    let started;
    try { started = Promise.resolve(this.load()); } catch (e) { started = Promise.reject(e); }
    const p = this._loading = started.then((snap) => {
      if (gen !== this._gen) return;
      if (!snap || typeof snap.seq !== "number") throw new Error("the snapshot has no seq");
      const previous = this.seq;
      // the store was reset: old events are void (after a rewind they were dropped already: keep the new ones)
      if (previous !== null && snap.seq < previous && !this._rewinding) this._buffer = [];
      this._rewinding = false;
      this.seq = snap.seq;
      this.entry = typeof snap.entry === "string" ? snap.entry : null;
      this.stats.snapshots++;
      this._retryMs = 0;
      const info = { reason, previousSeq: previous };
      try {
        if (this.reducer) this.state = this.reducer.init(snap, this.state);
        if (this._onSnapshot) this._onSnapshot(snap, info);
      } catch (e) { this.console.error("live: snapshot handler failed", e); }
      this._loading = null;
      this._notify({ kind: "snapshot", snapshot: snap, ...info });
      this._drain(true);
      if (this.connected) this._setStatus(STATUS.live);
    }, (err) => {
      if (gen !== this._gen) return;
      this._loading = null;
      this.stats.failures++;
      this.console.warn("live: snapshot failed (" + (err && (err.code || err.message)) + "); retrying");
      this._setStatus(this.connected ? STATUS.syncing : STATUS.reconnecting);
      this._later(() => { if (this.connected) this.resync(reason); });
    });
    return p.then(() => {
      if (this._again && !this._loading) {
        const again = this._again;
        this._again = null;
        return this.resync(again);
      }
    });
  }

  /** After a reconnect: the events missed since `seq` from the server (see the contract above); a snapshot when
      there is no state yet, the socket cannot ask, or the server cannot give them all. */
  catchUp() {
    const s = this.socket;
    if (!this._started) return Promise.resolve();
    // a rewind still waiting for its snapshot: the seq on screen predates the loss, so only a snapshot will do
    if (!this.catchUpMs || this.seq === null || this._loading || this._rewinding || !s ||
        typeof s.timeout !== "function") {
      return this.resync("connect");
    }
    clearTimeout(this._retryTimer);
    const gen = ++this._gen;
    const from = this.seq;
    const ask = this.entry ? { after: from, entry: this.entry } : { after: from };  // (see the contract above)
    this._setStatus(STATUS.syncing);
    let asked;
    try { asked = Promise.resolve(s.timeout(this.catchUpMs).emitWithAck("catch_up", ask)); }
    catch (e) { asked = Promise.reject(e); }
    const p = this._loading = asked.then((answer) => {
      if (gen !== this._gen) return;
      this._loading = null;
      if (!answer || !Array.isArray(answer.events) || this.seq !== from) return this.resync("connect");
      for (const ev of answer.events) {
        if (!ev || typeof ev !== "object" || typeof ev.seq !== "number") continue;
        this._replayed.add(ev);
        this._buffer.push(ev);
      }
      this.stats.caughtUp += answer.events.length;
      this._drain(false);
      if (this._buffer.length) return this.resync("gap");  // a hole the answer did not fill
      if (this.connected) this._setStatus(STATUS.live);
    }, () => {
      if (gen !== this._gen) return;
      this._loading = null;
      return this.resync("connect");
    });
    return p.then(() => {
      if (this._again && !this._loading) {
        const again = this._again;
        this._again = null;
        return this.resync(again);
      }
    });
  }

  /* Apply buffered events in seq order; a hole left in them loads another snapshot (after a snapshot: a little
     later, as the missing event may still be in flight). */
  _drain(afterSnapshot) {
    const buf = this._buffer.splice(0).sort((a, b) => a.seq - b.seq);
    for (let i = 0; i < buf.length; i++) {
      const ev = buf[i];
      if (ev.seq <= this.seq) { this.stats.ignored++; continue; }
      if (ev.seq > this.seq + 1) {
        if (!afterSnapshot) { this._buffer = buf.slice(i); return; }
        // Snapshots keep stopping short of these events: after a few tries, trust the snapshot.
        if (++this._holes > MAX_HOLES) {
          this.console.warn("live: dropped " + (buf.length - i) + " event(s) no snapshot reaches (from seq " + ev.seq + ")");
          this._holes = 0;
          return;
        }
        this._buffer = buf.slice(i);
        this.stats.gaps++;
        this._later(() => this.resync("gap"));
        return;
      }
      this._apply(ev);
    }
    if (afterSnapshot) this._holes = 0;
  }
}

/**
 * The connection mark every live page shows: `show(true)` once the client has been away from "live" for
 * `graceMs` (a blip is not worth a mark), `show(false)` as soon as it is live again.
 */
export function watchConnection(live, show, { graceMs = 1500 } = {}) {
  let timer = null;
  live.onStatus((status) => {
    clearTimeout(timer);
    if (status === STATUS.live) { show(false, status); return; }
    timer = setTimeout(() => show(true, live.status), graceMs);
  });
}
