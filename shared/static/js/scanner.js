/*
 * OneWindow (一窗通) front-end layer — a 2D barcode scanner (扫码器) plugged in as a USB keyboard ("keyboard wedge"):
 * a scan types the code's text at machine speed and ends with Enter. This module tells such a burst from a person
 * typing and hands each scan to the page once, wherever the focus is (no field needs to be focused).
 *
 *   const scanner = new ScanListener({ onScan: (text) => …, enabled: () => true });
 *   scanner.start();   // scanner.stop()
 *
 * - A scan: at least `minLength` printable keys, each within `maxGapMs` of the one before, then Enter within
 *   `maxGapMs` of the last. Shift (the scanner's capitals) does not break a burst; a slower key starts a new one; a
 *   key with Ctrl / Alt / Meta, a key held down (auto-repeat) or an IME composition ends it. People do not type
 *   `minLength` keys 50 ms apart one after the other; a held key repeats, and is marked so.
 * - A person typing is left alone: keys reach the page as usual. Once a burst is `minLength` keys long (no person
 *   types so), its further keys are held back (preventDefault); at its Enter the field it began in gets back the
 *   value and caret it had before the burst (its first keys had gone in), and the Enter does nothing else (no form
 *   is sent, no focused button pressed). A burst that long without its Enter (a misread) is dropped the same way.
 * - Time is `now()` at each keydown (performance.now() by default: the page's clock, which tests can drive).
 * - `enabled()` is asked at each key: when false (e.g. a kiosk not yet paired) nothing is looked at or held back.
 */

const MAX_GAP_MS = 50;     // a scanner types a character every 1–20 ms; a person rarely two within 50 ms, never 8
const MIN_LENGTH = 8;      // the shortest scan the page expects (a booking code is 8 characters)
const MAX_LENGTH = 1000;   // longer is no code of ours: kept only to be refused, not to fill the memory

const EDITABLE = new Set(["text", "search", "password", "tel", "url", "email", "number", ""]);

function editable(el) {
  if (!el) return null;
  if (el.tagName === "TEXTAREA") return el;
  if (el.tagName === "INPUT" && EDITABLE.has((el.getAttribute("type") || "").toLowerCase())) return el;
  return null;
}

export class ScanListener {
  constructor({ onScan, enabled = () => true, minLength = MIN_LENGTH, maxGapMs = MAX_GAP_MS,
                now = () => performance.now(), target = window }) {
    this.onScan = onScan;
    this.enabled = enabled;
    this.minLength = minLength;
    this.maxGapMs = maxGapMs;
    this.now = now;
    this.target = target;
    this.burst = null;     // {chars, last, field: {el, value, start, end} | null}
    this.timer = null;
    this.onKey = (e) => this.key(e);
  }

  start() {
    this.target.addEventListener("keydown", this.onKey, true);
    return this;
  }

  stop() {
    this.target.removeEventListener("keydown", this.onKey, true);
    this.reset();
  }

  reset() {
    this.burst = null;
    clearTimeout(this.timer);
    this.timer = null;
  }

  /** Is the burst so far long enough that it can only be a scanner? */
  get sure() { return !!this.burst && this.burst.chars.length >= this.minLength; }

  key(e) {
    if (!this.enabled()) { this.reset(); return; }
    if (e.key === "Shift" || e.key === "CapsLock") return;
    const t = this.now();
    const burst = this.burst;
    const inTime = burst && t - burst.last <= this.maxGapMs;
    if (e.isComposing || e.ctrlKey || e.altKey || e.metaKey || e.repeat) {
      if (inTime && this.sure) this.drop(e);
      this.reset();
      return;
    }
    if (e.key === "Enter") {
      if (inTime && this.sure) {
        e.preventDefault();
        e.stopPropagation();
        const text = burst.chars.join("");
        this.restore(burst.field);
        this.reset();
        this.onScan(text);
      } else {
        this.reset();
      }
      return;
    }
    if (e.key.length !== 1) { this.reset(); return; }   // Tab, arrows, Backspace …: a person
    if (!inTime) {
      if (burst && this.sure) this.restore(burst.field);  // a misread without its Enter: dropped
      const el = editable(document.activeElement);
      this.burst = { chars: [], last: t,
                     field: el ? { el, value: el.value, start: el.selectionStart, end: el.selectionEnd } : null };
    }
    const b = this.burst;
    if (b.chars.length < MAX_LENGTH) b.chars.push(e.key);
    b.last = t;
    if (this.sure) e.preventDefault();                    // no person types this fast this long: hold it back
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.expire(), this.maxGapMs * 4);
  }

  /** The burst stopped without its Enter: a long one was a misread (its field gets its value back). */
  expire() {
    if (this.sure) this.restore(this.burst.field);
    this.reset();
  }

  drop(e) {
    e.preventDefault();
    this.restore(this.burst.field);
  }

  /** The field the burst began in, as it was before (the burst's first keys had gone in). */
  restore(field) {
    if (!field || !field.el.isConnected || field.el.value === field.value) return;
    field.el.value = field.value;
    try { field.el.setSelectionRange(field.start, field.end); } catch (err) { /* a type without a caret */ }
    field.el.dispatchEvent(new Event("input", { bubbles: true }));
  }
}
