/*
 * OneWindow (一窗通) — the words of the 转办分析 card (transfers by reason, window and target), the same on the hall
 * supervisor's desk and the city's: pages spread these into their own catalogue (shared/static/js/transfers.js).
 */
export const TRANSFER_WORDS = {
  zh: {
    xfer_name: "名称", xfer_transfers: "转办",
    xfer_title: "转办分析", xfer_csv: "导出转办 CSV", xfer_routes: "转办去向（从哪个窗口转往哪里）", xfer_from: "转出窗口",
    xfer_to: "转往", xfer_people: "人数", xfer_why: "原因", xfer_none: "所选时段没有转办。", xfer_visits: "接待",
    xfer_rate: "转办率", xfer_top: "主要去向", xfer_notes: "转办说明（工作人员填写，最近 50 条）", xfer_no_notes: "没有填写说明的转办。",
    xfer_summary: "转办 {n} 次，涉及 {p} 人，占叫号 {c} 人的 {s}；接待 {v} 次，转办率 {r}。",
    xfer_summary_none: "所选时段没有转办（叫号 {c} 人）。",
    xfer_note: "转办按转出的窗口、工作人员、业务计（一张号转两次计两次）。接待=办件+咨询+过号+转办；转办率=转办÷接待。转办人数=至少转办一次的号数；占比=转办人数÷叫号人数。原因为工作人员转办时所选。",
  },
  en: {
    xfer_name: "Name", xfer_transfers: "Transfers",
    xfer_title: "Transfers", xfer_csv: "Export transfers CSV", xfer_routes: "Where tickets were sent (from window → to)",
    xfer_from: "From window", xfer_to: "To", xfer_people: "Tickets", xfer_why: "Reasons",
    xfer_none: "No transfers in this period.", xfer_visits: "Visits", xfer_rate: "Transfer rate", xfer_top: "Mostly to",
    xfer_notes: "What the clerks wrote (newest 50)", xfer_no_notes: "No transfer with a note.",
    xfer_summary: "{n} transfers of {p} tickets: {s} of the {c} tickets called; {v} visits, transfer rate {r}.",
    xfer_summary_none: "No transfers in this period ({c} tickets called).",
    xfer_note: "Transfers count where they left (window, clerk, service; a ticket moved twice counts twice). Visits = handled + consulted + no-shows + transfers; transfer rate = transfers ÷ visits. Tickets = tickets transferred at least once; their share = tickets ÷ tickets called. The reason is the one the clerk chose when transferring.",
  },
};

export default TRANSFER_WORDS;
