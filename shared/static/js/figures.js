/*
 * OneWindow (一窗通) — how the staff desks (the hall supervisor's, the city's) write figures: durations, rates,
 * counts, and an API error in the page's own words (its catalogue's `e_<code>` or `err_generic`).
 *
 *   import { figureWords, periodBar } from "/assets/js/figures.js";
 *   const { dur, pct, num, errText } = figureWords(i18n);
 *   periodBar(state, loadReport);   // the controls of _staff.html's period_bar: state.period follows them
 */
import { $, $$ } from "/assets/js/dom.js";

/** The formatters for a page whose words are `i18n` (createI18n); they follow its language switch. */
export function figureWords(i18n) {
  const en = () => i18n.en;
  const t = (key, vars) => i18n.t(key, vars);

  /** Seconds as 5秒 / 3分20秒 / 2小时5分 / 1天3小时 (5s, 3m 20s, …); "—" for none. */
  function dur(s) {
    if (s === null || s === undefined) return "—";
    s = Math.round(s);
    if (s < 60) return s + (en() ? "s" : "秒");
    const m = Math.floor(s / 60), r = s % 60;
    if (m < 60) return en() ? `${m}m ${r}s` : `${m}分${r}秒`;
    const h = Math.floor(m / 60);
    if (h < 24) return en() ? `${h}h ${m % 60}m` : `${h}小时${m % 60}分`;
    const d = Math.floor(h / 24);
    return en() ? `${d}d ${h % 24}h` : `${d}天${h % 24}小时`;
  }
  /** A percentage with one decimal (100% without); "—" for none. */
  const pct = (v) => (v === null || v === undefined ? "—" : (v === 100 ? "100" : Number(v).toFixed(1)) + "%");
  /** A count; "—" for none. */
  const num = (v) => (v === null || v === undefined ? "—" : String(v));
  /** An API error (api.js ApiError) in the page's words. */
  function errText(e) {
    const key = "e_" + (e.code || "");
    return i18n.has(key) ? t(key, { m: e.message }) : t("err_generic", { m: e.message || e.code });
  }
  return { dur, pct, num, errText };
}

/** Wire the report controls (counter/templates/_staff.html period_bar): a period button sets `state.period` to it, a
    date typed sets it to "custom", and every change (the grouping too) calls `onChange()`. */
export function periodBar(state, onChange) {
  const buttons = $$("#periods [data-period]");
  buttons.forEach((b) => b.addEventListener("click", () => {
    state.period = b.dataset.period;
    buttons.forEach((x) => x.classList.toggle("on", x === b));
    onChange();
  }));
  ["#r-from", "#r-to"].forEach((id) => $(id).addEventListener("change", () => {
    state.period = "custom";
    buttons.forEach((x) => x.classList.remove("on"));
    onChange();
  }));
  $("#r-by").addEventListener("change", () => onChange());
}
