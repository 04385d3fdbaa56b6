/*
 * OneWindow (一窗通) front-end layer — time in the hall: the server's clock as a page sees it, and dates and times
 * in the hall's time zone (a screen's own zone may differ).
 *
 *   const clock = new ServerClock();  clock.set(snapshot.now);  clock.now()   // ms, corrected by the server's time
 *   hallParts(ms, "Asia/Shanghai")  // {year, month, day, hour, minute, second, weekday: 0 = Sunday} as numbers
 *   dayKey(ms, tz)                  // "20261127": the business day (what snapshots call `day`)
 *   hms(ms, tz) / hm(ms, tz)        // "10:05:09" / "10:05"
 *   duration(ms)                    // "04:05", "1:04:05"
 */

export class ServerClock {
  constructor() { this.offset = 0; }
  /** Take the server's time (ISO 8601, or ms since the epoch). */
  set(when) {
    const ms = typeof when === "number" ? when : Date.parse(when);
    if (!Number.isNaN(ms)) this.offset = ms - Date.now();
  }
  now() { return Date.now() + this.offset; }
}

const formats = new Map();
function formatter(tz) {
  if (!formats.has(tz)) {
    formats.set(tz, new Intl.DateTimeFormat("en-GB", {
      timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
      second: "2-digit", weekday: "short", hourCycle: "h23",
    }));
  }
  return formats.get(tz);
}
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** The calendar and clock fields of `ms` in time zone `tz` (numbers; weekday 0 = Sunday). */
export function hallParts(ms, tz) {
  const raw = {};
  for (const p of formatter(tz).formatToParts(new Date(ms))) raw[p.type] = p.value;
  return {
    year: +raw.year, month: +raw.month, day: +raw.day, hour: +raw.hour, minute: +raw.minute, second: +raw.second,
    weekday: WEEKDAYS.indexOf(raw.weekday),
  };
}

const two = (n) => String(n).padStart(2, "0");

/** "20261127": the business day of `ms` in the hall's zone. */
export function dayKey(ms, tz) {
  const p = hallParts(ms, tz);
  return p.year + two(p.month) + two(p.day);
}

export function hms(ms, tz) {
  const p = hallParts(ms, tz);
  return `${two(p.hour)}:${two(p.minute)}:${two(p.second)}`;
}

export function hm(ms, tz) {
  const p = hallParts(ms, tz);
  return `${two(p.hour)}:${two(p.minute)}`;
}

/** A running time: "mm:ss", or "h:mm:ss" past an hour; "—" for nothing. */
export function duration(ms) {
  if (ms == null || !Number.isFinite(ms) || ms < 0) return "—";
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  return h ? `${h}:${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}` : `${two(Math.floor(s / 60))}:${two(s % 60)}`;
}
