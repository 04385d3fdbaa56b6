/*
 * OneWindow (一窗通) — the live-state protocol shared by every public screen (hall display, window screens,
 * phone tracking page). Plain script, no build step: exposes window.OneWindowLive.
 *
 * The server's event stream carries an increasing `seq`. A screen keeps a snapshot and applies events in
 * `seq` order:
 *
 *   - on every connect and reconnect it loads the snapshot (`load()`, e.g. GET /api/v1/display/state) and
 *     takes its `seq` as current; events arriving while the snapshot loads are buffered, then applied;
 *   - an event with seq <= current is ignored (a call is never shown twice);
 *   - an event with seq > current + 1 means events were missed: it is kept and a fresh snapshot is loaded;
 *   - a snapshot whose seq is LOWER than current (the store was reset) is taken as it is;
 *   - a failed snapshot is retried with backoff; a periodic snapshot (`resyncEveryMs`) and a snapshot when
 *     the page becomes visible again are safety nets for anything the rules above cannot see.
 *
 * One page holds one Socket.IO connection: one socket, created once; Socket.IO's own manager reconnects it
 * with backoff (the same socket object, so no handler is registered twice).
 *
 *   var live = new OneWindowLive({
 *     namespace: "/display",
 *     load: function () { return fetch("/api/v1/display/state").then(...) },   // -> {seq, ...}
 *     onSnapshot: function (snap, info) {},   // info.reason: "connect" | "gap" | "periodic" | ...
 *     onEvent: function (ev) {},              // return "resync" to ask for a fresh snapshot
 *     onStatus: function (status) {},         // "connecting" | "syncing" | "live" | "reconnecting" | "stopped"
 *   });
 *   live.start();
 *
 * Tests inject `socket` (anything with on/onAny/connect/disconnect) and `load`.
 */
(function (global) {
  "use strict";

  var MAX_HOLES = 3;  // snapshots in a row that may stop short of buffered events before these are dropped

  function jsonOrThrow(res) {
    if (!res.ok) {
      var err = new Error("HTTP " + res.status);
      err.status = res.status;
      throw err;
    }
    return res.json();
  }

  /* GET a JSON snapshot, never from a cache. */
  function fetchJSON(url) {
    return global.fetch(url, {cache: "no-store", credentials: "same-origin"}).then(jsonOrThrow);
  }

  class LiveState {
    constructor(opts) {
      opts = opts || {};
      this.namespace = opts.namespace || "/display";
      this.load = opts.load || (opts.url ? function () { return fetchJSON(opts.url); } : null);
      if (!this.load) throw new Error("OneWindowLive needs load() or url");
      this.onSnapshot = opts.onSnapshot || function () {};
      this.onEvent = opts.onEvent || function () {};
      this.onStatus = opts.onStatus || function () {};
      this.console = opts.console || global.console;
      this.resyncEveryMs = opts.resyncEveryMs == null ? 5 * 60 * 1000 : opts.resyncEveryMs;
      this.retryMinMs = opts.retryMinMs || 500;
      this.retryMaxMs = opts.retryMaxMs || 15000;
      this.ioOptions = Object.assign({
        reconnection: true,
        reconnectionDelay: 500,        // Socket.IO backoff: 0.5 s, 1 s, 2 s … up to the max, with jitter
        reconnectionDelayMax: 5000,
        randomizationFactor: 0.5,
        timeout: 8000,
      }, opts.ioOptions || {});
      this._socketGiven = opts.socket || null;

      this.socket = null;
      this.seq = null;             // seq of the state on screen (null until the first snapshot)
      this.status = "stopped";
      this.connected = false;
      this.stats = {connects: 0, snapshots: 0, applied: 0, ignored: 0, gaps: 0, failures: 0};
      this._buffer = [];           // events waiting for a snapshot (or for a missing predecessor)
      this._loading = null;        // the snapshot promise in flight
      this._again = null;          // a reason to load again once the current load is done
      this._gen = 0;
      this._retryMs = 0;
      this._retryTimer = null;
      this._periodicTimer = null;
      this._started = false;
      this._holes = 0;
    }

    /* Open the one connection of this page (idempotent). */
    start() {
      if (this._started) return this;
      this._started = true;
      var s = this.socket = this._socketGiven || this._makeSocket();
      var self = this;
      s.on("connect", function () {
        self.connected = true;
        self.stats.connects++;
        self._retryMs = 0;
        self.resync("connect");
      });
      s.on("disconnect", function (reason) {
        self.connected = false;
        self._setStatus("reconnecting");
        // The server sent us away: Socket.IO does not come back by itself in that case.
        if (reason === "io server disconnect") self._later(function () { if (self._started) s.connect(); });
      });
      s.on("connect_error", function () {
        self.connected = false;
        self._setStatus(self.seq === null ? "connecting" : "reconnecting");
        if (s.active === false) self._later(function () { if (self._started) s.connect(); });
      });
      s.onAny(function (name, payload) { self.receive(payload, name); });
      if (global.document) {
        this._onVisible = function () {
          if (global.document.visibilityState === "visible" && self.connected) self.resync("visible");
        };
        global.document.addEventListener("visibilitychange", this._onVisible);
      }
      if (this.resyncEveryMs > 0) {
        this._periodicTimer = setInterval(function () {
          if (self.connected && !self._loading) self.resync("periodic");
        }, this.resyncEveryMs);
      }
      this._setStatus("connecting");
      if (typeof s.connect === "function" && !s.connected) s.connect();
      return this;
    }

    stop() {
      this._started = false;
      clearInterval(this._periodicTimer);
      clearTimeout(this._retryTimer);
      if (this._onVisible) global.document.removeEventListener("visibilitychange", this._onVisible);
      if (this.socket && typeof this.socket.disconnect === "function") this.socket.disconnect();
      this._setStatus("stopped");
    }

    _makeSocket() {
      if (typeof global.io !== "function") throw new Error("Socket.IO client (io) is not loaded");
      return global.io(this.namespace, Object.assign({autoConnect: false}, this.ioOptions));
    }

    _setStatus(status) {
      if (status === this.status) return;
      this.status = status;
      try { this.onStatus(status); } catch (e) { this.console.error(e); }
    }

    _later(fn) {
      var delay = this._retryMs = Math.min(this.retryMaxMs, Math.max(this.retryMinMs, this._retryMs * 2));
      clearTimeout(this._retryTimer);
      this._retryTimer = setTimeout(fn, delay * (0.75 + Math.random() * 0.5));
    }

    /* One event from the socket (public so that tests and other transports can feed events). */
    receive(ev, name) {
      if (!ev || typeof ev !== "object" || typeof ev.seq !== "number") return;
      if (!ev.type && name) ev.type = name;
      if (this._loading || this.seq === null) {
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
      this.stats.applied++;
      var answer;
      try { answer = this.onEvent(ev); } catch (e) { this.console.error("live: event handler failed", e); }
      if (answer === "resync") this.resync("handler");
    }

    /* Load a fresh snapshot (coalesced: a call while one is loading loads once more afterwards). */
    resync(reason) {
      if (!this._started) return Promise.resolve();
      if (this._loading) {
        this._again = this._again || reason || "again";
        return this._loading;
      }
      clearTimeout(this._retryTimer);
      var self = this;
      var gen = ++this._gen;
      if (this.seq === null || reason === "connect") this._setStatus("syncing");
      var started;
      try { started = Promise.resolve(this.load()); } catch (e) { started = Promise.reject(e); }
      var p = this._loading = started.then(function (snap) {
        if (gen !== self._gen) return;
        if (!snap || typeof snap.seq !== "number") throw new Error("the snapshot has no seq");
        var previous = self.seq;
        if (previous !== null && snap.seq < previous) self._buffer = [];  // the store was reset: old events are void
        self.seq = snap.seq;
        self.stats.snapshots++;
        self._retryMs = 0;
        try {
          self.onSnapshot(snap, {reason: reason, previousSeq: previous});
        } catch (e) { self.console.error("live: snapshot handler failed", e); }
        self._loading = null;
        self._drain(true);
        if (self.connected) self._setStatus("live");
      }, function (err) {
        if (gen !== self._gen) return;
        self._loading = null;
        self.stats.failures++;
        self.console.warn("live: snapshot failed (" + (err && err.message) + "); retrying");
        self._setStatus(self.connected ? "syncing" : "reconnecting");
        self._later(function () { if (self.connected) self.resync(reason); });
      });
      return p.then(function () {
        if (self._again && !self._loading) {
          var again = self._again;
          self._again = null;
          return self.resync(again);
        }
      });
    }

    /* Apply buffered events in seq order; a hole left in them loads another snapshot (after a snapshot: a
       little later, as the missing event may still be in flight). */
    _drain(afterSnapshot) {
      var buf = this._buffer.splice(0).sort(function (a, b) { return a.seq - b.seq; });
      for (var i = 0; i < buf.length; i++) {
        var ev = buf[i];
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
          var self = this;
          this._later(function () { self.resync("gap"); });
          return;
        }
        this._apply(ev);
      }
      if (afterSnapshot) this._holes = 0;
    }
  }

  LiveState.fetchJSON = fetchJSON;
  global.OneWindowLive = LiveState;
})(typeof window !== "undefined" ? window : this);
