/*
 * OneWindow (一窗通) hall display — call announcer.
 *
 * An ES module (no build step): `import { Announcer } from "./announcer.js"`.
 * Speaks "请 A 零 一 二 号 到 三 号 窗口 办理" by stringing short recorded clips together with the
 * Web Audio API (AudioBufferSourceNodes scheduled back to back on the audio clock, so there is
 * no gap between the clips of one reading). speechSynthesis is not used: Linux Chromium has no
 * voices out of the box.
 *
 *   const a = new Announcer({repeat: 2});
 *   a.announce({number: "A012", window: 3, kind: "call", id: "t-1"});
 *
 * Queue policy: announcements are spoken one after the other, in order; a new call never cuts
 * off the one being spoken. An announcement is a first reading (with the chime) plus repeats.
 * The pending queue holds at most `maxQueue` readings: past that, repeats of queued
 * announcements are dropped first (oldest announcement first), then the oldest whole
 * announcements. The announcement being spoken is never touched. Drops are logged
 * (console.warn) and kept in `dropped`.
 *
 * Clips come from a manifest: {"version": "...", "generator": "...", "clips": {name: file}}.
 * Files are resolved against the clip base URL. setClipBase(url) switches to a hall's own
 * recordings; a clip missing there is taken from the default set.
 */
// The default clip set sits next to this module: <static>/js/announcer.js -> <static>/voice/default/
const DEFAULT_BASE = new URL("../voice/default/", import.meta.url).href;

const RETRY_FAILED_MS = 30000;  // a clip that failed to load is tried again after this long

function withSlash(url) {
  return url.charAt(url.length - 1) === "/" ? url : url + "/";
}

function absolute(url) {
  return new URL(url, globalThis.location ? globalThis.location.href : undefined).href;
}

// "A012" -> ["A", "0", "1", "2"]; anything but ASCII letters and digits is ignored.
function symbols(value) {
  let out = [];
  let s = String(value == null ? "" : value).toUpperCase();
  for (let i = 0; i < s.length; i++) {
    let c = s.charAt(i);
    if ((c >= "0" && c <= "9") || (c >= "A" && c <= "Z")) out.push(c);
  }
  return out;
}

function symbolClip(c, prefix) {
  return prefix + (c >= "0" && c <= "9" ? "d" : "l") + c;
}

export class Announcer {
  constructor(opts) {
    opts = opts || {};
    this.repeat = Math.max(1, opts.repeat == null ? 2 : opts.repeat | 0);
    this.english = !!opts.english;
    this.gapMs = opts.gapMs == null ? 400 : Math.max(0, +opts.gapMs);
    this.maxQueue = Math.max(1, opts.maxQueue == null ? 6 : opts.maxQueue | 0);
    this.volume = opts.volume == null ? 1 : +opts.volume;
    this.onClip = typeof opts.onClip === "function" ? opts.onClip : null;
    this.onDrop = typeof opts.onDrop === "function" ? opts.onDrop : null;
    this.historyLimit = opts.historyLimit == null ? 2000 : opts.historyLimit;
    this.console = opts.console || globalThis.console;

    this.played = [];     // clip names, in the order they finished playing
    this.history = [];    // {name, id, start, end} on the audio clock, same order as `played`
    this.dropped = [];    // {what: "repeat"|"call", id, number, window, kind}
    this.queue = [];      // pending announcements (the one being spoken is `current`)
    this.current = null;

    this._ctx = opts.audioContext || null;
    this._gain = null;
    this._cache = new Map();        // url -> Promise<AudioBuffer|null>
    this._sets = [];                // [{base, version, clips}], searched in order
    this._busy = false;
    this._idleWaiters = [];
    this._lastEnd = 0;
    this._unlockInstalled = false;

    let base = opts.baseUrl ? withSlash(absolute(opts.baseUrl)) : null;
    if (opts.clips) {
      let setBase = base || DEFAULT_BASE;
      this._sets = [{base: setBase, version: opts.version || "", clips: Object.assign({}, opts.clips)}];
      this._ready = Promise.resolve();
    } else {
      let manifestUrl = opts.manifestUrl ? absolute(opts.manifestUrl) : null;
      if (!base) base = manifestUrl ? new URL("./", manifestUrl).href : DEFAULT_BASE;
      this._ready = this._useBase(base, manifestUrl);
    }
  }

  // ------------------------------------------------------------------ what is said

  /* One reading (no chime) of `number` to `window` in `lang` ("zh", "en", or "zh+en"). */
  readingFor(number, window, lang) {
    let langs = lang ? String(lang).split("+") : (this.english ? ["zh", "en"] : ["zh"]);
    let num = symbols(number), win = symbols(window);
    let out = [];
    langs.forEach(function (l) {
      if (l === "zh") {
        out.push("qing");
        num.forEach(function (c) { out.push(symbolClip(c, "")); });
        out.push("hao", "dao");
        win.forEach(function (c) { out.push(symbolClip(c, "")); });
        out.push("hao", "chuangkou", "banli");
      } else if (l === "en") {
        out.push("en_please", "en_number");
        num.forEach(function (c) { out.push(symbolClip(c, "en_")); });
        out.push("en_to_window");
        win.forEach(function (c) { out.push(symbolClip(c, "en_")); });
      }
    });
    return out;
  }

  /* The readings of one announcement: the first starts with the chime, then `repeat - 1` repeats. */
  readingsFor(number, window, lang) {
    let reading = this.readingFor(number, window, lang);
    let readings = [["chime"].concat(reading)];
    for (let i = 1; i < this.repeat; i++) readings.push(reading.slice());
    return readings;
  }

  /* Every clip name of one announcement, in order: chime once, then the reading `repeat` times. */
  clipsFor(number, window, lang) {
    return [].concat.apply([], this.readingsFor(number, window, lang));
  }

  // ------------------------------------------------------------------ queue

  /*
   * Queue an announcement {number, window, kind: "call"|"recall", id}. Returns false when it
   * was ignored (nothing to say, or the same kind+id is already queued or being spoken).
   */
  announce(a) {
    a = a || {};
    if (!symbols(a.number).length || !symbols(a.window).length) {
      this.console.warn("announcer: nothing to say for", a);
      return false;
    }
    let kind = a.kind === "recall" ? "recall" : "call";
    let key = a.id != null ? kind + ":" + a.id : null;
    if (key !== null && ((this.current && this.current.key === key) ||
                         this.queue.some(function (q) { return q.key === key; }))) {
      return false;  // a replayed event (e.g. after a reconnect) is not spoken twice
    }
    let item = {
      key: key, id: a.id == null ? null : a.id, kind: kind,
      number: String(a.number), window: String(a.window),
      readings: this.readingsFor(a.number, a.window, a.lang),
    };
    this.queue.push(item);
    this._pump();           // when nothing is being spoken it starts now and leaves the queue
    this._enforceLimit();
    if (this.current === item || this.queue.indexOf(item) >= 0) this._prefetch(item);
    return true;
  }

  /* The clip names that read `value` symbol by symbol in `lang` ("zh" or "en"): "A013" -> lA d0 d1 d3. */
  numberClips(value, lang) {
    let prefix = lang === "en" ? "en_" : "";
    return symbols(value).map(function (c) { return symbolClip(c, prefix); });
  }

  /*
   * Queue a phrase that is not a call (the kiosk's spoken guidance): `names` are clip names spoken back to back,
   * once, without the chime, in the same queue as announcements (so in order, never cutting one off). A name the
   * manifests do not have is skipped with a warning. Returns false when there is nothing to say.
   */
  say(names, opts) {
    opts = opts || {};
    let clips = (names || []).filter(function (n) { return n; }).map(String);
    if (!clips.length) return false;
    let item = {key: null, id: opts.id == null ? null : opts.id, kind: "say", number: clips.join(" "), window: "",
                readings: [clips]};
    this.queue.push(item);
    this._pump();
    this._enforceLimit();
    if (this.current === item || this.queue.indexOf(item) >= 0) this._prefetch(item);
    return true;
  }

  /* Is there a clip called `name` (after ready())? */
  hasClip(name) {
    return this._urlFor(name) !== null;
  }

  /* Drop every pending announcement (the one being spoken still finishes). */
  clear() {
    let self = this;
    this.queue.splice(0).forEach(function (q) { self._drop("call", q, "cleared"); });
  }

  /* Pending readings (the unit of maxQueue). */
  pendingReadings() {
    return this.queue.reduce(function (n, q) { return n + q.readings.length; }, 0);
  }

  /* Resolves once nothing is queued or being spoken. */
  idle() {
    if (!this._busy && !this.queue.length) return Promise.resolve();
    let self = this;
    return new Promise(function (resolve) { self._idleWaiters.push(resolve); });
  }

  _enforceLimit() {
    let q = this.queue;
    while (this.pendingReadings() > this.maxQueue) {
      let withRepeat = null;
      for (let i = 0; i < q.length; i++) {
        if (q[i].readings.length > 1) { withRepeat = q[i]; break; }
      }
      if (withRepeat) {
        withRepeat.readings.pop();
        this._drop("repeat", withRepeat);
      } else {
        this._drop("call", q.shift());
      }
    }
  }

  _drop(what, item, reason) {
    reason = reason || "queue full";
    let info = {what: what, id: item.id, number: item.number, window: item.window, kind: item.kind,
                reason: reason};
    this.dropped.push(info);
    if (this.dropped.length > this.historyLimit) this.dropped.splice(0, this.dropped.length - this.historyLimit);
    this.console.warn("announcer: " + reason + ", dropped " + (what === "repeat" ? "a repeat of " : "") +
                      item.kind + " " + item.number + " -> window " + item.window +
                      (item.id != null ? " (id " + item.id + ")" : ""));
    if (this.onDrop) { try { this.onDrop(info); } catch (e) { this.console.error(e); } }
  }

  // ------------------------------------------------------------------ clips

  /* Use a hall's own clip directory (same manifest format). Missing clips come from the default set. */
  setClipBase(url, manifestUrl) {
    this._cache.clear();
    this._ready = this._useBase(withSlash(absolute(url)), manifestUrl ? absolute(manifestUrl) : null);
    return this._ready;
  }

  get clipBase() {
    return this._sets.length ? this._sets[0].base : null;
  }

  /* Resolves when the manifest(s) are loaded. */
  ready() {
    return this._ready;
  }

  async _useBase(base, manifestUrl) {
    const gen = this._baseGen = (this._baseGen || 0) + 1;  // a later setClipBase wins over a load still running
    let sets = [];
    let primary = await this._loadManifest(manifestUrl || base + "manifest.json", base);
    if (primary) sets.push(primary);
    if (base !== DEFAULT_BASE) {
      let fallback = await this._loadManifest(DEFAULT_BASE + "manifest.json", DEFAULT_BASE);
      if (fallback) sets.push(fallback);
    }
    if (gen !== this._baseGen) return;
    if (!sets.length) this.console.warn("announcer: no clip manifest could be loaded from " + base);
    this._sets = sets;
  }

  async _loadManifest(url, base) {
    try {
      let res = await fetch(url, {cache: "no-cache"});
      if (!res.ok) throw new Error("HTTP " + res.status);
      let m = await res.json();
      if (!m || typeof m.clips !== "object") throw new Error("no clips map");
      return {base: base, version: m.version == null ? "" : String(m.version), clips: m.clips};
    } catch (e) {
      this.console.warn("announcer: cannot load clip manifest " + url + ": " + e.message);
      return null;
    }
  }

  _urlFor(name) {
    for (let i = 0; i < this._sets.length; i++) {
      let s = this._sets[i];
      if (Object.prototype.hasOwnProperty.call(s.clips, name)) {
        let u = new URL(s.clips[name], s.base);
        if (s.version) u.searchParams.set("v", s.version);
        return u.href;
      }
    }
    return null;
  }

  /* AudioBuffer for a clip name, or null (a warning is logged; the announcement goes on without it). */
  _load(name) {
    let url = this._urlFor(name);
    if (!url) {
      let key = "missing:" + name;
      if (!this._cache.has(key)) {
        this._cache.set(key, Promise.resolve(null));
        this.console.warn("announcer: clip '" + name + "' is not in the manifest; skipped");
      }
      return this._cache.get(key);
    }
    if (this._cache.has(url)) return this._cache.get(url);
    let self = this;
    let p = (async function () {
      try {
        let res = await fetch(url);
        if (!res.ok) throw new Error("HTTP " + res.status);
        let data = await res.arrayBuffer();
        return await self._context().decodeAudioData(data);
      } catch (e) {
        self.console.warn("announcer: clip '" + name + "' (" + url + ") failed to load: " +
                          (e && e.message ? e.message : e) + "; skipped");
        setTimeout(function () { if (self._cache.get(url) === p) self._cache.delete(url); }, RETRY_FAILED_MS);
        return null;
      }
    })();
    this._cache.set(url, p);
    return p;
  }

  async _prefetch(item) {
    try {
      await this._ready;
      let self = this;
      let seen = new Set();
      item.readings.forEach(function (r) {
        r.forEach(function (n) { if (!seen.has(n)) { seen.add(n); self._load(n); } });
      });
    } catch (e) { /* _play reports */ }
  }

  // ------------------------------------------------------------------ audio

  _context() {
    if (!this._ctx) {
      let Ctx = globalThis.AudioContext || globalThis.webkitAudioContext;
      this._ctx = new Ctx();
    }
    if (!this._gain) {
      this._gain = this._ctx.createGain();
      this._gain.gain.value = this.volume;
      this._gain.connect(this._ctx.destination);
    }
    this._installUnlock();
    return this._ctx;
  }

  setVolume(v) {
    this.volume = +v;
    if (this._gain) this._gain.gain.value = this.volume;
  }

  /* Resume the audio context (call from a user gesture if the autoplay policy blocks audio). */
  unlock() {
    let ctx = this._context();
    return ctx.state === "suspended" ? ctx.resume() : Promise.resolve();
  }

  _installUnlock() {
    if (this._unlockInstalled || !globalThis.document) return;
    this._unlockInstalled = true;
    let self = this;
    let handler = function () {
      if (self._ctx && self._ctx.state === "suspended") self._ctx.resume();
    };
    ["pointerdown", "keydown", "touchstart"].forEach(function (ev) {
      globalThis.document.addEventListener(ev, handler, {capture: true, passive: true});
    });
  }

  async _waitRunning(ctx) {
    if (ctx.state === "running") return;
    try { await Promise.race([ctx.resume(), new Promise(function (r) { setTimeout(r, 500); })]); } catch (e) { /* */ }
    if (ctx.state === "running") return;
    this.console.warn("announcer: audio is blocked by the autoplay policy; waiting for a click or key " +
                      "(or start Chromium with --autoplay-policy=no-user-gesture-required)");
    await new Promise(function (resolve) {
      let check = function () {
        if (ctx.state === "running") { ctx.removeEventListener("statechange", check); resolve(); }
      };
      ctx.addEventListener("statechange", check);
    });
  }

  _pump() {
    if (this._busy) return;
    let item = this.queue.shift();
    if (!item) {
      this._idleWaiters.splice(0).forEach(function (r) { r(); });
      return;
    }
    this._busy = true;
    this.current = item;
    let self = this;
    this._play(item).catch(function (e) {
      self.console.error("announcer: announcement failed", e);
    }).then(function () {
      self.current = null;
      self._busy = false;
      self._pump();
    });
  }

  async _play(item) {
    await this._ready;
    let ctx = this._context();
    let names = [].concat.apply([], item.readings);
    let self = this;
    let buffers = new Map();
    await Promise.all(names.filter(function (n, i) { return names.indexOf(n) === i; }).map(function (n) {
      return self._load(n).then(function (b) { buffers.set(n, b); });
    }));
    await this._waitRunning(ctx);

    let gap = this.gapMs / 1000;
    let t = Math.max(ctx.currentTime + 0.05, this._lastEnd + gap);
    let last = null;
    item.readings.forEach(function (reading, ri) {
      if (ri > 0) t += gap;
      reading.forEach(function (name) {
        let buf = buffers.get(name);
        if (!buf) return;  // failed clip: already warned, skip it
        let src = ctx.createBufferSource();
        src.buffer = buf;
        src.connect(self._gain);
        let start = t, end = t + buf.duration;
        src.onended = function () {
          self.played.push(name);
          self.history.push({name: name, id: item.id, start: start, end: end});
          if (self.played.length > self.historyLimit) {
            self.played.splice(0, self.played.length - self.historyLimit);
            self.history.splice(0, self.history.length - self.historyLimit);
          }
        };
        if (self.onClip) {
          setTimeout(function () {
            try { self.onClip(name, item); } catch (e) { self.console.error(e); }
          }, Math.max(0, (start - ctx.currentTime) * 1000));
        }
        src.start(start);
        last = src;
        t = end;
      });
    });
    this._lastEnd = t;
    if (!last) return;
    await new Promise(function (resolve) {
      let done = false;
      let finish = function () { if (!done) { done = true; resolve(); } };
      let prev = last.onended;
      last.onended = function (ev) { prev.call(this, ev); finish(); };
      // Safety net: never let a lost 'ended' event stall the queue.
      setTimeout(finish, Math.max(0, (t - ctx.currentTime) * 1000) + 2000);
    });
  }
}

Announcer.DEFAULT_BASE = DEFAULT_BASE;
