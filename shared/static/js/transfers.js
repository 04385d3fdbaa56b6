/*
 * OneWindow (一窗通) — the 转办分析 card of the staff desks (the hall supervisor's, the city's): a transfer report
 * (shared/stats/transfers.py; GET …/transfers) drawn into the markup of _staff.html's transfer_card macro — the
 * summary, the table by reason with 接待 / 转办 / 转办率 / main targets, the routes, the clerks' notes. Its words
 * are transfer-strings.js's (spread into the page's catalogue).
 *
 *   import { transferBy, transferCard } from "/assets/js/transfers.js";
 *   const draw = transferCard(i18n, { tz: BOOT.tz });
 *   draw(report, csvHref);
 */
import { $, esc } from "/assets/js/dom.js";
import { figureWords } from "/assets/js/figures.js";

/** The groupings a transfer report knows (not 事项): the report's grouping, or by window. */
export const TRANSFER_GROUPINGS = ["day", "week", "month", "daytype", "service", "window", "clerk", "hour"];
export const transferBy = (by) => (TRANSFER_GROUPINGS.includes(by) ? by : "window");

/** A function that draws a transfer report into the card (and points its CSV link at `csvHref`). */
export function transferCard(i18n, { tz } = {}) {
  const t = (key, vars) => i18n.t(key, vars);
  const en = () => i18n.en;
  const { num, pct } = figureWords(i18n);
  const label = (o) => (en() ? o.label_en : o.label);
  const list = (xs) => xs.join(en() ? ", " : "、");
  const when = (ms) => (ms ? new Date(ms).toLocaleString(en() ? "en-GB" : "zh-CN", {hour12: false, month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit", timeZone: tz}) : "—");  // the hall's time

  return function draw(x, csvHref) {
    $("#x-range").textContent = x.from === x.to ? x.from : `${x.from} — ${x.to}`;
    $("#x-csv").href = csvHref;
    const tf = x.total.figures;
    $("#x-summary").textContent = tf.transfers
      ? t("xfer_summary", {n: tf.transfers, p: tf.tickets, c: num(tf.called), s: pct(tf.ticket_rate), v: tf.visits, r: pct(tf.rate)})
      : t("xfer_summary_none", {c: num(tf.called)});
    const names = Object.fromEntries(x.targets.map((g) => [g.key, label(g)]));
    $("#xfer thead").innerHTML = "<tr><th>" + esc(t("xfer_name")) + "</th>" +
      [["visits", "xfer_visits"], ["transfers", "xfer_transfers"], ["rate", "xfer_rate"]].map(([k, h]) => `<th class="num" data-col="${k}">${esc(t(h))}</th>`).join("") +
      x.reasons.map((r) => `<th class="num" data-reason="${esc(r.code)}">${esc(label(r))}</th>`).join("") +
      `<th data-col="top">${esc(t("xfer_top"))}</th></tr>`;
    const top = (f) => list(Object.entries(f.targets).filter(([, n]) => n).sort((a, b) => b[1] - a[1]).slice(0, 2)
      .map(([k, n]) => `${names[k] || k} ${n}`)) || "—";
    const row = (r, cls) => `<tr class="${cls || ""}" data-key="${esc(r.key)}"${r.figures.transfers ? "" : ' data-none="true"'}><th>${esc(label(r))}</th>` +
      `<td class="num" data-col="visits">${num(r.figures.visits)}</td><td class="num" data-col="transfers">${num(r.figures.transfers)}</td>` +
      `<td class="num" data-col="rate">${esc(pct(r.figures.rate))}</td>` +
      x.reasons.map((c) => { const n = r.figures.reasons[c.code]; return `<td class="num${n ? "" : " zero"}" data-reason="${esc(c.code)}">${n}</td>`; }).join("") +
      `<td data-col="top">${esc(top(r.figures))}</td></tr>`;
    $("#xfer tbody").innerHTML = x.rows.map((r) => row(r)).join("");
    $("#xfer tfoot").innerHTML = row(x.total, "total");
    const why = (reasons) => list(x.reasons.filter((r) => reasons[r.code]).map((r) => `${label(r)} ${reasons[r.code]}`));
    $("#x-empty").hidden = x.routes.length > 0;
    $("#xfer-routes tbody").innerHTML = x.routes.map((r) => `<tr data-from="${esc(r.from_window || "")}" data-to="${esc(r.to)}">` +
      `<td>${esc(en() ? r.from_label_en : r.from_label)}</td><td>${esc(en() ? r.to_label_en : r.to_label)}</td>` +
      `<td class="num">${r.transfers}</td><td class="num">${r.tickets}</td><td>${esc(why(r.reasons))}</td></tr>`).join("");
    $("#xfer-notes").innerHTML = x.notes.length ? x.notes.map((n) => `<li data-number="${esc(n.number)}">` +
      `<span class="muted nowrap">${esc(when(n.at_ms))}</span> <b>${esc(n.number)}</b> ` +
      `${esc(en() ? n.from_label_en : n.from_label)} → ${esc(en() ? n.to_label_en : n.to_label)}` +
      `${n.clerk_name ? " · " + esc(n.clerk_name) : ""} · <span class="tag">${esc(en() ? n.reason_label_en : n.reason_label)}</span> ` +
      `<q>${esc(n.text)}</q></li>`).join("") : `<li class="muted">${esc(t("xfer_no_notes"))}</li>`;
  };
}
