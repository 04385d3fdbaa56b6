/*
 * OneWindow (一窗通) — what the public screens (hall display, window screen, tracking page, not-found page) have in
 * common on top of the front-end layer: the boot JSON, the language the server chose (?lang=), service names,
 * dates in the hall's words, and the reconnecting mark.
 */
import { $, bootData } from "/assets/js/dom.js";
import { createI18n } from "/assets/js/i18n.js";
import { watchConnection } from "/assets/js/live.js";
import { hallParts } from "/assets/js/time.js";
import strings from "./strings.js";

export function openScreen() {
  const boot = bootData();
  const i18n = createI18n(strings, { lang: boot.lang || new URLSearchParams(location.search).get("lang") });
  i18n.apply();
  const services = new Map((boot.services || []).map((s) => [s.code, s]));
  const tz = boot.hall && boot.hall.timezone;
  return {
    boot, i18n, tz,
    t: (key, vars) => i18n.t(key, vars),

    serviceName(code) {
      const s = services.get(code);
      return s ? i18n.pick(s.name, s.name_en) : code;
    },

    /** {date: "2026年11月27日", weekday: "星期五", time: "10:05:09", hm: "10:05"} in the hall's zone and words. */
    formatNow(ms) {
      const p = hallParts(ms, tz);
      const two = (n) => String(n).padStart(2, "0");
      const zh = i18n.lang === "zh";
      return {
        date: i18n.t("date_format", { y: p.year, m: zh ? p.month : two(p.month), d: zh ? p.day : two(p.day) }),
        weekday: i18n.t("weekdays").split(",")[p.weekday] || "",
        time: `${two(p.hour)}:${two(p.minute)}:${two(p.second)}`,
        hm: `${two(p.hour)}:${two(p.minute)}`,
      };
    },

    /** The discreet "reconnecting…" mark (#ow-status) while `live` is not live (after a grace period). */
    markConnection(live) {
      watchConnection(live, (offline) => { $("#ow-status").hidden = !offline; });
    },
  };
}
