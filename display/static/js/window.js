/*
 * OneWindow (一窗通) — the small screen above one window (/display/window/<n>), an ES module on the front-end
 * layer: the hall state from the live client (snapshot on every (re)connect, events by seq), this window's part of
 * it shown large; with ?voice=1 it speaks its own calls. Exposes window.owWindow.
 */
import { $ } from "/assets/js/dom.js";
import { createApi } from "/assets/js/api.js";
import { LiveClient } from "/assets/js/live.js";
import { ServerClock } from "/assets/js/time.js";
import { Announcer } from "./announcer.js";
import { callKey, hallReducer, windowEntry } from "./hall-state.js";
import { openScreen } from "./screen.js";

const screen = openScreen();
const { boot: cfg, t } = screen;
const number = cfg.window;
const FLASH_MS = 10000;
const CATCH_UP_MS = 60000;
const me = cfg.windows.find((w) => w.number === number);

const clock = new ServerClock();
const seen = new Set();
const shown = [];
let flashUntil = 0;
let firstSnapshot = true;

const api = createApi();
const live = new LiveClient({
  namespace: cfg.namespace, load: () => api.get(cfg.state_url), reducer: hallReducer({ recentLimit: cfg.recent_calls }),
});
const announcer = cfg.voice && cfg.voice.enabled
  ? new Announcer({ repeat: cfg.voice.repeat, english: cfg.voice.english, baseUrl: cfg.voice.base }) : null;

function called(call) {
  const key = callKey(call);
  if (seen.has(key)) return;
  seen.add(key);
  flashUntil = Date.now() + FLASH_MS;
  shown.push({ key, number: call.number, kind: call.kind });
  if (announcer) announcer.announce({ number: call.number, window: call.window, kind: call.kind, id: key });
  setTimeout(render, FLASH_MS + 50);
}

live.subscribe((state, change) => {
  if (change.kind === "snapshot") {
    clock.set(change.snapshot.now);
    tick();  // the hall's time now, not the screen's own until the next second
    for (const c of state.recent_calls) {
      if (c.window !== number) continue;
      if (firstSnapshot || clock.now() - c.at > CATCH_UP_MS) seen.add(callKey(c));
      else called(c);  // a call made while this screen was away
    }
    firstSnapshot = false;
  } else if (change.result && change.result.call && change.result.call.window === number) {
    // a call missed while away (caught up on reconnect): spoken only if recent enough, as after a snapshot
    if (change.caughtUp && clock.now() - change.event.ts > CATCH_UP_MS) seen.add(callKey(change.result.call));
    else called(change.result.call);
  }
  render();
});

function render() {
  const state = live.state;
  if (!state) return;
  const w = windowEntry(state, number) || {};
  const mode = w.paused ? "paused" : (w.ticket ? "serving" : "idle");
  $("#stage").className = "stage " + mode + (mode === "serving" && flashUntil > Date.now() ? " flash" : "");
  $("#label").textContent = t(mode === "paused" ? "paused" : mode === "serving" ? "serving" : "idle");
  $("#current").textContent = mode === "serving" ? w.ticket.number : "";
  $("#reason").textContent = mode === "paused" ? (w.pause_reason || "") : (mode === "serving" ? screen.serviceName(w.ticket.service) : "");
  let waiting = state.window_waiting[String(number)] || 0;
  for (const s of me.services) waiting += state.waiting[s] || 0;
  $("#waiting").textContent = t("waiting_here", { n: waiting });
}

function tick() { $("#time").textContent = screen.formatNow(clock.now()).hm; }

const zh = screen.i18n.lang === "zh";
$("#services").textContent = t("services") + (zh ? "：" : ": ") + me.services.map((s) => screen.serviceName(s)).join(zh ? "、" : ", ");
document.title = t("window_n", { n: number }) + " — " + screen.i18n.pick(cfg.hall.name, cfg.hall.name_en);
window.owWindow = { cfg, live, shown, announcer, state: () => live.state };
screen.markConnection(live);
tick();
setInterval(tick, 1000);
live.start();
