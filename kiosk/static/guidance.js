/*
 * OneWindow (一窗通) — the kiosk's spoken guidance, with the hall display's offline voice: the same announcer
 * (display/static/js/announcer.js) and clip set (display/static/voice/default/, made by scripts/make_voice_clips.py
 * with espeak-ng; docs/voice.md). No online TTS.
 *
 * When guidance is on (it comes on with the large-text mode; 语音播报 toggles it): touching a service says its name
 * (clip svc_<code>, en_svc_<code> in English; a hall without that clip hears the ticket letter), and an issued
 * ticket says "您的号码 A 零 一 三 请取票" / "your number is A 0 1 3, please take your ticket".
 */
import { Announcer } from "../../display/static/js/announcer.js";

export function createGuidance({ button, lang, onChange }) {
  const state = { on: false };
  let announcer = null;

  function voice() {
    if (!announcer) announcer = new Announcer({ repeat: 1, gapMs: 250, maxQueue: 4 });
    return announcer;
  }

  function render() { button.setAttribute("aria-pressed", String(state.on)); }

  function set(on) {
    const next = Boolean(on);
    if (next === state.on) return;
    state.on = next;
    if (next) voice().unlock().catch(() => {});
    else if (announcer) announcer.clear();
    render();
    if (onChange) onChange(state.on);
  }

  function say(names, id) {
    if (!state.on) return false;
    return voice().say(names, { id });
  }

  button.addEventListener("click", () => set(!state.on));
  render();
  return {
    get on() { return state.on; },
    set,
    reset() { set(false); },
    /** the clip names for a service (what serviceTouched says) */
    serviceClips(svc) {
      const en = lang() === "en";
      const name = (en ? "en_svc_" : "svc_") + svc.code;
      const a = voice();
      return a.hasClip(name) ? [name] : a.numberClips(svc.prefix, en ? "en" : "zh");
    },
    issuedClips(number) {
      const en = lang() === "en";
      const a = voice();
      return en ? ["en_kiosk_your_number", ...a.numberClips(number, "en"), "en_kiosk_take_ticket"]
        : ["kiosk_ninde_haoma", ...a.numberClips(number, "zh"), "kiosk_qing_qupiao"];
    },
    async serviceTouched(svc) {
      if (!state.on) return;
      await voice().ready();
      say(this.serviceClips(svc), "service:" + svc.code);
    },
    async ticketIssued(ticket) {
      if (!state.on) return;
      await voice().ready();
      say(this.issuedClips(ticket.number), "ticket:" + ticket.number);
    },
    /** the announcer (tests read its `played` log) */
    get announcer() { return announcer; },
  };
}
