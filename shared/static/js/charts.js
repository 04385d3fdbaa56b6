/*
 * OneWindow (一窗通) front-end layer — the statistics charts, drawn in the page (supervisor desk, city page).
 *
 * The server draws each chart as SVG (shared/stats/charts.py). Shown as an <img>, an SVG cannot load the page's web
 * font: its text falls back to the machine's fonts, and a hall PC without a CJK font shows boxes for every Chinese
 * label. So the charts are put into the page itself — fetched as text through the API client, parsed as
 * image/svg+xml (never as HTML), checked to be an <svg> and imported — where the page's @font-face applies
 * ("OneWindow Sans SC", first in charts.py's FONT).
 *
 *   const charts = chartLoader(api, {lang: () => i18n.lang, failed: (e) => t("chart_failed", {m: errText(e)})});
 *   charts.show($("#chart-load"), "/api/v1/supervisor/charts/load.svg?period=day");  // <div class="chart" data-chart>
 *   charts.reload();   // every chart of the page again (the language changed)
 *
 * - Only when seen: a chart is fetched once its element is rendered (its tab shown); until then its path waits in
 *   `data-src`, and a ResizeObserver fetches it when the element gets a size.
 * - The last ask wins, per chart: an answer — or a failure — overtaken by a later ask, or for a path the chart no
 *   longer shows, is dropped.
 * - A failed fetch, or an answer that is no SVG, shows `failed(err)` in the chart's place (role="alert") — except
 *   on a quiet show (`show(el, path, {quiet: true})`, a background refresh), which keeps a chart already shown.
 * - An allowlist, not a blocklist: the drawing is rebuilt from only the SVG-namespace elements and the attributes
 *   shared/stats/charts.py emits (ELEMENTS, ATTRIBUTES) and their text. Anything else — <a>, <animate>/<set>, <use>,
 *   <image>, <style>, <script>, <foreignObject>, elements of another namespace — is dropped with all it holds, and so
 *   is every other attribute (href, src, style, on*) and a presentation value that could name a resource (url(…)).
 *   No link of any kind survives. The SVG keeps its role="img", aria-label and <title> (what screen readers read).
 * - `data-state` on the element: "waiting" (not shown yet), "loading", "shown", "failed".
 */
import { ApiError } from "./api.js";
import { $$, h } from "./dom.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const SVG_START = /^\s*(<\?xml[^>]*\?>\s*)?<svg[\s>]/;
/** The elements shared/stats/charts.py draws with: nothing else is kept. */
const ELEMENTS = new Set(["svg", "title", "rect", "line", "polyline", "circle", "text", "tspan"]);
/** The attributes charts.py writes (without a namespace): nothing else is kept. */
const ATTRIBUTES = new Set(["viewBox", "width", "height", "role", "aria-label", "font-family", "font-size", "font-weight",
  "x", "y", "dy", "rx", "x1", "x2", "y1", "y2", "cx", "cy", "r", "points", "fill", "stroke", "stroke-width",
  "stroke-dasharray", "text-anchor"]);
/** Free text (read, never fetched); every other value is a number, a colour, a keyword or the font list. */
const TEXT_ATTRIBUTES = new Set(["aria-label", "role"]);
const PLAIN_VALUE = /^[\w\s#.,'%+-]*$/;  // no "(" (url(…)), ":" or "/": nothing that can name a resource

/** The <svg> element of `text` (an SVG document), cleaned, not yet in the page; throws ApiError "bad_chart". */
export function parseSvg(text) {
  const bad = () => new ApiError("bad_chart", "the answer is not an SVG drawing");
  // no parsing of what is plainly no SVG (a proxy's HTML page): Chromium's parse-error page breaks the style CSP
  if (!SVG_START.test(String(text ?? ""))) throw bad();
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const root = doc.documentElement;
  if (!root || root.namespaceURI !== SVG_NS || root.localName !== "svg" || doc.getElementsByTagName("parsererror").length) {
    throw bad();
  }
  return rebuild(doc, root);
}

/** A copy of `node` (an allowed SVG element) made of its allowed attributes, its text and its allowed children. */
function rebuild(doc, node) {
  const copy = doc.createElementNS(SVG_NS, node.localName);
  for (const attr of node.attributes) {
    const plain = TEXT_ATTRIBUTES.has(attr.name) || PLAIN_VALUE.test(attr.value);
    if (attr.namespaceURI === null && ATTRIBUTES.has(attr.name) && plain) copy.setAttribute(attr.name, attr.value);
  }
  for (const child of node.childNodes) {
    if (child.nodeType === Node.TEXT_NODE || child.nodeType === Node.CDATA_SECTION_NODE) {
      copy.append(doc.createTextNode(child.data));
    } else if (child.nodeType === Node.ELEMENT_NODE && child.namespaceURI === SVG_NS && ELEMENTS.has(child.localName)) {
      copy.append(rebuild(doc, child));
    }  // anything else (another element, a comment, a processing instruction) is dropped with all it holds
  }
  return copy;
}

/** Charts for a page: `api` its API client (or a staff session's), `lang()` the language asked for (`&lang=`),
 *  `failed(err)` the sentence shown in a chart's place when it cannot be loaded. */
export function chartLoader(api, { lang = () => "zh", failed = (e) => String(e.message || e.code || e) } = {}) {
  const asks = new WeakMap();     // element → the number of its latest ask: one chart's ask never overtakes another's
  const waiting = new WeakMap();  // shown while hidden → quiet: fetched when it gets a size
  const seen = new ResizeObserver((entries) => {
    for (const { target, contentRect } of entries) {
      if (contentRect.width > 0 && waiting.has(target)) { const quiet = waiting.get(target); waiting.delete(target); load(target, quiet); }
    }
  });

  async function load(el, quiet) {
    const path = el.dataset.src;
    const mine = (asks.get(el) || 0) + 1;
    asks.set(el, mine);
    const current = () => asks.get(el) === mine && el.dataset.src === path;  // not overtaken, still this chart's path
    const shown = !!el.querySelector(":scope > svg");
    el.dataset.state = "loading";
    el.setAttribute("aria-busy", "true");
    let svg;
    try {
      const text = await api.get(path + (path.includes("?") ? "&" : "?") + "lang=" + lang(), { text: true });
      if (!current()) return;
      svg = document.importNode(parseSvg(text), true);
    } catch (e) {
      if (!current()) return;  // an older ask's failure: the chart shows (or waits for) a later one
      if (quiet && shown) { settle(el, "shown"); return; }  // a background refresh keeps the chart it has
      el.replaceChildren(h("p", { class: "chart-error", role: "alert", text: failed(e) }));
      settle(el, "failed");
      return;
    }
    el.replaceChildren(svg);
    settle(el, "shown");
  }

  function settle(el, state) {
    el.dataset.state = state;
    el.removeAttribute("aria-busy");
  }

  /** Show the chart at `path` (without lang) in `el`: now if `el` is rendered, else once it is. `quiet` (a
   *  background refresh): when it fails, a chart already shown stays, without an error. */
  function show(el, path, { quiet = false } = {}) {
    el.dataset.src = path;
    seen.observe(el);  // observing again is a no-op
    if (el.getClientRects().length) { waiting.delete(el); load(el, quiet); }
    else { waiting.set(el, quiet); if (el.dataset.state !== "failed") el.dataset.state = "waiting"; }
  }

  /** Every chart of `root` that has a path, again (the language changed). */
  function reload(root = document) {
    $$("[data-chart][data-src]", root).forEach((el) => show(el, el.dataset.src));
  }

  return { show, reload };
}
