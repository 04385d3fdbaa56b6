"""Charts drawn on the server as SVG (no JavaScript, no CDN): per-hour load, waiting time by service, satisfaction
trend. Each takes the rows of a report, so a chart always shows the report's own numbers. The pages put them inline
(shared/static/js/charts.js) so that their text is drawn in the project's web font.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from xml.sax.saxutils import escape, quoteattr

W, H = 720, 300
PAD_L, PAD_R, PAD_T, PAD_B = 56, 16, 40, 46
#: the web font first: the pages draw the charts inline (shared/static/js/charts.js), where the page's @font-face
#: applies; an SVG file opened on its own (or shown as an <img>) cannot load it and falls back to the system's fonts
FONT = "'OneWindow Sans SC','Noto Sans CJK SC','WenQuanYi Micro Hei','Microsoft YaHei','PingFang SC',sans-serif"
INK, MUTED, GRID = "#1f2a37", "#6b7280", "#e5e7eb"
BLUE, GREEN, AMBER, RED = "#2563eb", "#16a34a", "#f59e0b", "#c0392b"

TEXT = {
    "load": ("每小时取号与办结", "Tickets per hour"),
    "issued": ("取号", "Issued"),
    "served": ("办结（办件+咨询）", "Served (handled + consulted)"),
    "wait": ("各业务等候时长（分钟）", "Waiting time by service (minutes)"),
    "mean": ("平均", "Mean"),
    "median": ("中位数", "Median"),
    "p90": ("P90", "P90"),
    "sat": ("群众满意率趋势", "Satisfaction trend"),
    "rate": ("满意率 %", "Satisfied %"),
    "rate_default": ("含默认评价 %", "Incl. default ratings %"),
    "ratings": ("评价数", "Ratings"),
    "none": ("所选时段暂无数据", "No data in this period"),
    "hcp": ("好差评指标", "好差评 figures"),
    "hcp_active": ("主动评价率", "Active rating rate"),
    "hcp_rectified": ("整改率", "Rectification rate"),
    "hcp_on_time": ("按时整改率", "On-time rate"),
    "hcp_callback": ("回访率", "Call-back rate"),
    "halls": ("各大厅取号与办结", "Tickets by hall"),
    "sat_short": ("满意率", "Satisfied"),
    "wait_short": ("平均等候", "Mean wait"),
}


def _t(key: str, lang: str) -> str:
    zh, en = TEXT[key]
    return en if lang == "en" else zh


def _nice_max(v: float) -> float:
    """A round axis maximum ≥ v (1, 2, 5 × 10^k)."""
    if v <= 0:
        return 1
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if v <= m * exp:
            return m * exp
    return 10 * exp


def _fmt(v: float) -> str:
    return f"{v:g}" if v == int(v) else f"{v:.1f}"


def _text_width(text: str, size: float) -> float:
    """About the width of ``text`` at font-size ``size`` in the web font, a little more rather than less (digits are
    0.56 em, "%" and m/w 0.93 em, CJK and full-width forms 1 em)."""
    return size * sum(1.0 if ord(ch) > 0x2000 else 0.95 if ch in "%MWmw@" else 0.3 if ch in ".,:;|!' " else 0.62
                      for ch in text)


def _legend_lines(texts: list[str], size: float) -> list[list[int]]:
    """The entries of a legend (their indexes) on as many lines as they need between PAD_L and W - PAD_R, an
    entry being a 10 px square, its text and a gap: the English 好差评 legend is wider than the chart."""
    lines: list[list[int]] = [[]]
    room = W - PAD_R - PAD_L
    used = 0.0
    for i, text in enumerate(texts):
        width = 14 + _text_width(text, size) + 10
        if lines[-1] and used + width > room:
            lines.append([])
            used = 0.0
        lines[-1].append(i)
        used += width
    return lines


def _frame(title: str, body: list[str], legend: list[tuple[str, str]], label: str, height: float = H) -> str:
    parts = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {height:.0f}" width="{W}" height="{height:.0f}" '
         f'role="img" aria-label={quoteattr(label)} font-family="{FONT}" font-size="12">'),
        f"<title>{escape(title)}</title>",
        f'<rect width="{W}" height="{height:.0f}" fill="#ffffff"/>',
        f'<text x="{PAD_L}" y="22" font-size="15" font-weight="600" fill="{INK}">{escape(title)}</text>',
    ]
    x = W - PAD_R
    for text, color in reversed(legend):
        width = 14 + _text_width(text, 12)
        x -= width + 12
        parts.append(f'<rect x="{x:.1f}" y="12" width="10" height="10" rx="2" fill="{color}"/>'
                     f'<text x="{x + 14:.1f}" y="21" fill="{MUTED}">{escape(text)}</text>')
    parts += body
    parts.append("</svg>")
    return "".join(parts)


def _empty(title: str, lang: str) -> str:
    text = (f'<text x="{W / 2}" y="{H / 2}" text-anchor="middle" fill="{MUTED}" font-size="14">'
            f'{escape(_t("none", lang))}</text>')
    return _frame(title, [text], [], title)


def _y_axis(top: float, ticks: int = 4, suffix: str = "", base: float = 0) -> list[str]:
    """Grid lines and labels from ``base`` to ``base + top``."""
    out = []
    plot_h = H - PAD_T - PAD_B
    for i in range(ticks + 1):
        v = base + top * i / ticks
        y = H - PAD_B - plot_h * i / ticks
        out.append(f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
                   f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">{_fmt(v)}{suffix}</text>')
    return out


def hourly_load(rows: list[dict], lang: str = "zh") -> str:
    """Bars per hour: tickets issued and tickets served (handled + consulted), from a report ``by=hour``."""
    title = _t("load", lang)
    data = {int(r["key"]): (r["figures"]["issued"] or 0, r["figures"]["handled"] + r["figures"]["consulted"]) for r in rows}
    if not any(a or b for a, b in data.values()):
        return _empty(title, lang)
    first = min(min(h for h, v in data.items() if any(v)), 8)
    last = max(max(h for h, v in data.items() if any(v)), 17)
    hours = list(range(first, last + 1))
    top = _nice_max(max(max(data.get(h, (0, 0))) for h in hours))
    plot_w, plot_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    slot = plot_w / len(hours)
    bar = min(18.0, slot * 0.36)
    body = _y_axis(top)
    for i, h in enumerate(hours):
        issued, served = data.get(h, (0, 0))
        x0 = PAD_L + i * slot + slot / 2
        for j, (v, color) in enumerate(((issued, BLUE), (served, GREEN))):
            bh = plot_h * v / top
            x = x0 - bar - 1 + j * (bar + 2)
            body.append(f'<rect x="{x:.1f}" y="{H - PAD_B - bh:.1f}" width="{bar:.1f}" height="{bh:.1f}" rx="2" '
                        f'fill="{color}"><title>{h:02d}:00 {escape(_t("issued" if j == 0 else "served", lang))} {v}</title></rect>')
        body.append(f'<text x="{x0:.1f}" y="{H - PAD_B + 16}" text-anchor="middle" fill="{MUTED}">{h:02d}</text>')
    body.append(f'<text x="{W - PAD_R}" y="{H - 8}" text-anchor="end" fill="{MUTED}">{"hour" if lang == "en" else "时"}</text>')
    return _frame(title, body, [(_t("issued", lang), BLUE), (_t("served", lang), GREEN)], title)


def wait_by_service(rows: list[dict], lang: str = "zh") -> str:
    """Horizontal bars per service: mean, median and P90 waiting time (minutes), from a report ``by=service``."""
    title = _t("wait", lang)
    data = [(r["label_en"] if lang == "en" else r["label"], r["figures"]["wait"]) for r in rows if r["figures"]["wait"]["n"]]
    if not data:
        return _empty(title, lang)
    top = _nice_max(max(max(w["p90_s"], w["mean_s"] or 0) for _, w in data) / 60)  # a mean may pass the P90
    left = 150
    plot_w = W - left - PAD_R - 40
    # a row at least 30 tall (the chart grows): its two bars are each as tall as their labels (font-size 11) less a
    # pixel, so that the labels of a mean and a P90 that are nearly equal lie one under the other, not on each other
    row_h = max(30.0, min(40.0, (H - PAD_T - 24) / len(data)))
    height = max(H, PAD_T + 24 + len(data) * row_h)
    body = []
    for i in range(5):
        v = top * i / 4
        x = left + plot_w * i / 4
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{PAD_T}" y2="{height - 22:.0f}" stroke="{GRID}"/>'
                    f'<text x="{x:.1f}" y="{height - 8:.0f}" text-anchor="middle" fill="{MUTED}">{_fmt(v)}</text>')
    for i, (name, w) in enumerate(data):
        y = PAD_T + 6 + i * row_h
        bh = max(10.0, row_h * 0.3)
        body.append(f'<text x="{left - 8}" y="{y + bh + 4:.1f}" text-anchor="end" fill="{INK}">{escape(name)}</text>')
        for j, (key, color) in enumerate((("mean_s", BLUE), ("p90_s", AMBER))):
            v = (w[key] or 0) / 60
            bw = plot_w * v / top
            yy = y + j * (bh + 2)
            body.append(f'<rect x="{left}" y="{yy:.1f}" width="{bw:.1f}" height="{bh:.1f}" rx="2" fill="{color}">'
                        f'<title>{escape(name)} {escape(_t("mean" if j == 0 else "p90", lang))} {v:.1f}</title></rect>'
                        f'<text x="{left + bw + 4:.1f}" y="{yy + bh - 1:.1f}" fill="{MUTED}" font-size="11">{v:.1f}</text>')
        if w["median_s"] is not None:
            mx = left + plot_w * (w["median_s"] / 60) / top
            body.append(f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{y - 2:.1f}" y2="{y + 2 * bh + 4:.1f}" stroke="{INK}" '
                        f'stroke-width="2"><title>{escape(_t("median", lang))} {w["median_s"] / 60:.1f}</title></line>')
    return _frame(title, body, [(_t("mean", lang), BLUE), (_t("median", lang), INK), (_t("p90", lang), AMBER)], title,
                  height)


def satisfaction_trend(rows: list[dict], lang: str = "zh") -> str:
    """满意率 per period (a report ``by=day`` / ``week`` / ``month``), with the number of ratings as bars; when the
    period has default ratings (默认评价), 满意率 with them as a dashed line."""
    title = _t("sat", lang)
    points = [(r["key"], r["figures"]["satisfaction_rate"], r["figures"]["ratings"]) for r in rows]
    with_default = [r["figures"].get("satisfaction_rate_with_default") for r in rows]
    has_defaults = any(r["figures"].get("default_ratings") for r in rows)
    if not any(n for _, _, n in points) and not has_defaults:
        return _empty(title, lang)
    plot_w, plot_h = W - PAD_L - PAD_R - 30, H - PAD_T - PAD_B
    slot = plot_w / len(points)
    top_n = _nice_max(max(n for _, _, n in points))
    rates = [r for _, r, _ in points if r is not None] + ([r for r in with_default if r is not None] if has_defaults else [])
    floor = 0 if not rates or min(rates) < 50 else min(80, int((min(rates) - 5) // 10 * 10))  # zoom in on a high trend
    body = _y_axis(100 - floor, 4, "%", base=floor)
    line, dots = [], []
    step = max(1, math.ceil(len(points) / 12))
    for i, (key, rate, n) in enumerate(points):
        x = PAD_L + i * slot + slot / 2
        bh = plot_h * 0.35 * n / top_n
        body.append(f'<rect x="{x - min(10, slot * 0.3):.1f}" y="{H - PAD_B - bh:.1f}" width="{min(20, slot * 0.6):.1f}" '
                    f'height="{bh:.1f}" fill="#dbeafe"><title>{escape(key)} {escape(_t("ratings", lang))} {n}</title></rect>')
        if i % step == 0:
            short = key[5:] if len(key) == 10 else key
            body.append(f'<text x="{x:.1f}" y="{H - PAD_B + 16}" text-anchor="middle" fill="{MUTED}" font-size="11">'
                        f'{escape(short)}</text>')
        if rate is not None:
            y = H - PAD_B - plot_h * (rate - floor) / (100 - floor)
            line.append(f"{x:.1f},{y:.1f}")
            dots.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{GREEN}"><title>{escape(key)} {rate:g}% '
                        f'({n})</title></circle>')
            if len(points) <= 14:  # above the dot; below it near the top (100 %), clear of the title and legend
                ty = y - 9 if y - 18 >= PAD_T else y + 17
                dots.append(f'<text x="{x:.1f}" y="{ty:.1f}" text-anchor="middle" fill="{INK}" font-size="11">{rate:g}%</text>')
    if len(line) > 1:
        body.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="{GREEN}" stroke-width="2.5"/>')
    legend = [(_t("rate", lang), GREEN), (_t("ratings", lang), "#93c5fd")]
    if has_defaults:
        dashed = []
        for i, ((key, _r, _n), rate) in enumerate(zip(points, with_default)):
            if rate is None:
                continue
            x = PAD_L + i * slot + slot / 2
            y = H - PAD_B - plot_h * (rate - floor) / (100 - floor)
            dashed.append(f"{x:.1f},{y:.1f}")
            dots.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{AMBER}"><title>{escape(key)} '
                        f'{escape(_t("rate_default", lang))} {rate:g}</title></circle>')
        if len(dashed) > 1:
            body.append(f'<polyline points="{" ".join(dashed)}" fill="none" stroke="{AMBER}" stroke-width="2" '
                        f'stroke-dasharray="6 4"/>')
        legend.insert(1, (_t("rate_default", lang), AMBER))
    body += dots
    body.append(f'<text x="{W - PAD_R}" y="{PAD_T - 4}" text-anchor="end" fill="{MUTED}" font-size="11">'
                f'{escape(_t("ratings", lang))} ≤ {top_n:g}</text>')
    return _frame(title, body, legend, title)


#: the 好差评 rates a row of :func:`haocaiping_rates` shows, in order: (figure, label key, colour)
HCP_RATES = (("satisfaction_rate", "rate", GREEN), ("satisfaction_rate_with_default", "rate_default", AMBER),
             ("active_rating_rate", "hcp_active", BLUE), ("rectification_rate", "hcp_rectified", "#7c3aed"),
             ("on_time_rate", "hcp_on_time", "#0d9488"), ("callback_rate", "hcp_callback", RED))
#: the height of one bar of the 好差评 chart at least: its label (font-size 10) and a pixel between two labels
HCP_BAR = 11
#: groupings the 好差评 chart may be drawn by (``?by=``; window by default)
HCP_GROUPINGS = ("window", "clerk", "service", "matter")


def haocaiping_rates(rows: list[dict], lang: str = "zh") -> str:
    """Per row of a report (``by=window`` / ``clerk`` / ``service`` / ``matter``): 满意率 with and without default
    ratings, 主动评价率, 整改率, 按时整改率 and 回访率 as horizontal bars (0–100 %); a rate without a base is left out."""
    title = _t("hcp", lang)
    data = [(r["label_en"] if lang == "en" else r["label"], r["figures"]) for r in rows
            if any(r["figures"].get(key) is not None for key, _l, _c in HCP_RATES)][:12]
    if not data:
        return _empty(title, lang)
    legend, lines = [], _legend_lines([_t(label, lang) for _k, label, _c in HCP_RATES], 11)
    for k, line in enumerate(lines):  # right-aligned, one line under the other
        x, ly = W - PAD_R, PAD_T - 8 + 16 * k
        for j in reversed(line):
            text = _t(HCP_RATES[j][1], lang)
            x -= 14 + _text_width(text, 11) + 10
            legend.append(f'<rect x="{x:.1f}" y="{ly}" width="10" height="10" rx="2" fill="{HCP_RATES[j][2]}"/>'
                          f'<text x="{x + 14:.1f}" y="{ly + 9}" fill="{MUTED}" font-size="11">{escape(text)}</text>')
    left, top_pad = 170, PAD_T + 18 + 16 * (len(lines) - 1)
    plot_w = W - left - PAD_R - 44
    # each bar as tall as its label (font-size 10) and a pixel: labels of near-equal rates, drawn at the same x,
    # lie one under the other instead of on one another
    height = max(H, top_pad + 30 + len(data) * (len(HCP_RATES) * HCP_BAR + 10))
    row_h = (height - top_pad - 30) / len(data)
    bar = max(HCP_BAR, (row_h - 10) / len(HCP_RATES))
    body = _rows_start(title, height, left, plot_w, top_pad, lambda i: f"{25 * i}%")
    for i, (name, f) in enumerate(data):
        y = top_pad + 4 + i * row_h
        body.append(_row_label(_at_the_dot(name), left - 8, y + row_h / 2, 15))
        for j, (key, label, color) in enumerate(HCP_RATES):
            v = f.get(key)
            if v is None:
                continue
            yy, bw = y + j * bar, plot_w * min(100.0, v) / 100
            body.append(f'<rect x="{left}" y="{yy:.1f}" width="{bw:.1f}" height="{bar - 1:.1f}" fill="{color}">'
                        f'<title>{escape(name)} {escape(_t(label, lang))} {v:g}%</title></rect>'
                        f'<text x="{left + bw + 4:.1f}" y="{yy + bar - 2:.1f}" fill="{MUTED}" font-size="10">{v:g}%</text>')
    return _rows_svg(title, height, body, legend)


def hall_comparison(rows: list[dict], lang: str = "zh") -> str:
    """One row per hall (a city report's ``halls``, or its rows ``by=hall``): tickets issued and served (handled +
    consulted) as bars, with the hall's 满意率 and mean wait beside them."""
    title = _t("halls", lang)
    data = [(r["label_en"] if lang == "en" else r["label"], r["figures"]) for r in rows][:16]
    if not any((f["issued"] or 0) or f["handled"] + f["consulted"] for _n, f in data):
        return _empty(title, lang)
    left, right, top_pad = 180, 200, PAD_T + 4
    plot_w = W - left - right
    height = max(H, top_pad + 30 + len(data) * 40)
    row_h = (height - top_pad - 30) / len(data)
    bar = min(12.0, (row_h - 8) / 2)
    most = max(max(f["issued"] or 0, f["handled"] + f["consulted"]) for _n, f in data)
    top = 4 * math.ceil(most / 4) if most <= 40 else _nice_max(most)  # whole tickets on every grid line
    body = _rows_start(title, height, left, plot_w, top_pad, lambda i: _fmt(top * i / 4))
    for i, (name, f) in enumerate(data):
        y = top_pad + 4 + i * row_h
        body.append(_row_label(_two_lines(name, 12 if any(ord(ch) > 0x2E80 for ch in name) else 24), left - 8,
                               y + bar + 4, 14))
        for j, (v, key, color) in enumerate(((f["issued"] or 0, "issued", BLUE),
                                             (f["handled"] + f["consulted"], "served", GREEN))):
            yy, bw = y + j * (bar + 2), plot_w * v / top
            body.append(f'<rect x="{left}" y="{yy:.1f}" width="{bw:.1f}" height="{bar:.1f}" rx="2" fill="{color}">'
                        f'<title>{escape(name)} {escape(_t(key, lang))} {v}</title></rect>'
                        f'<text x="{left + bw + 4:.1f}" y="{yy + bar - 1:.1f}" fill="{MUTED}" font-size="11">{v}</text>')
        rate, wait = f["satisfaction_rate"], f["wait"]["mean_s"]
        sides = (f'{_t("sat_short", lang)} {"—" if rate is None else f"{rate:g}%"}',
                 f'{_t("wait_short", lang)} ' + ("—" if wait is None else f'{wait / 60:.1f}{"m" if lang == "en" else "分"}'))
        for j, side in enumerate(sides):
            body.append(f'<text x="{W - right + 40}" y="{y + j * (bar + 2) + bar - 1:.1f}" fill="{INK}" '
                        f'font-size="11">{escape(side)}</text>')
    legend, x = [], W - PAD_R
    for key, color in (("served", GREEN), ("issued", BLUE)):
        text = _t(key, lang)
        x -= 14 + _text_width(text, 12) + 10
        legend.append(f'<rect x="{x:.1f}" y="12" width="10" height="10" rx="2" fill="{color}"/>'
                      f'<text x="{x + 14:.1f}" y="21" fill="{MUTED}">{escape(text)}</text>')
    return _rows_svg(title, height, body, legend)


def _rows_start(title: str, height: float, left: float, plot_w: float, top_pad: float,
                tick: Callable[[int], str]) -> list[str]:
    """The start of a chart of one row per label (horizontal bars) ``height`` tall: the white ground, the title and
    five vertical grid lines from ``left`` over ``plot_w``, line ``i`` (0–4) labelled ``tick(i)`` at the foot."""
    body = [f'<rect width="{W}" height="{height}" fill="#ffffff"/>',
            f'<text x="{PAD_L}" y="22" font-size="15" font-weight="600" fill="{INK}">{escape(title)}</text>']
    for i in range(5):
        x = left + plot_w * i / 4
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top_pad}" y2="{height - 22}" stroke="{GRID}"/>'
                    f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" fill="{MUTED}">{tick(i)}</text>')
    return body


def _at_the_dot(name: str) -> list[str]:
    """A row label of more than 12 characters on two lines at its " · " ("1号窗口 · 人社综合窗口"), each of at most
    16 characters."""
    lines = name.split(" · ", 1) if len(name) > 12 else [name]
    return [part[:16] for part in lines]


def _row_label(lines: list[str], x: float, y: float, dy: int) -> str:
    """A row's label right-aligned at ``x``, its lines ``dy`` apart and centred on ``y`` (one line: on ``y``)."""
    first = y - 7 * (len(lines) - 1)
    return (f'<text x="{x}" y="{first:.1f}" text-anchor="end" fill="{INK}">' + "".join(
        f'<tspan x="{x}" dy="{0 if k == 0 else dy}">{escape(part)}</tspan>' for k, part in enumerate(lines)) + "</text>")


def _rows_svg(title: str, height: float, body: list[str], legend: list[str]) -> str:
    """The whole SVG of a chart of one row per label, ``height`` tall."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {height:.0f}" width="{W}" height="{height:.0f}" '
            f'role="img" aria-label={quoteattr(title)} font-family="{FONT}" font-size="12"><title>{escape(title)}</title>'
            + "".join(body) + "".join(legend) + "</svg>")


def _two_lines(name: str, width: int) -> list[str]:
    """A row label on at most two lines of about ``width`` characters (at a space when there is one)."""
    if len(name) <= width:
        return [name]
    cut = name.rfind(" ", 0, width + 1)
    cut = cut if cut > 0 else width
    rest = name[cut:].strip()
    return [name[:cut].strip(), rest if len(rest) <= width else rest[:width - 1] + "…"]


CHARTS = {"load": ("hour", hourly_load), "wait": ("service", wait_by_service), "satisfaction": (None, satisfaction_trend),
          "haocaiping": ("window", haocaiping_rates)}


def trend_grouping(days: int) -> str:
    """The satisfaction trend's period for a range of ``days``: day up to two months, week up to a year, else month."""
    return "day" if days <= 62 else ("week" if days <= 370 else "month")


#: the colours of the transfer reasons (shared.engine.TRANSFER_REASONS order; then any other code, then none)
REASON_COLORS = ("#2563eb", "#f59e0b", "#c0392b", "#7c3aed", "#0d9488", "#64748b", "#a16207", "#cbd5e1")
TEXT.update({"transfers": ("转办原因（按转出）", "Transfers by reason (where they left)"),
             "transfer_rate": ("转办率", "rate")})


def transfer_reasons_chart(report: dict, lang: str = "zh") -> str:
    """Per row of a transfer report (:func:`shared.stats.transfers.transfer_report`; by window unless asked
    otherwise): the transfers as a horizontal bar split by reason, the row's 转办率 beside it. Rows without a
    transfer are left out (at most 14, most transfers first)."""
    title = _t("transfers", lang)
    reasons = report["reasons"]
    data = sorted(((r["label_en"] if lang == "en" else r["label"], r["figures"]) for r in report["rows"]
                   if r["figures"]["transfers"]), key=lambda x: -x[1]["transfers"])[:14]
    if not data:
        return _empty(title, lang)
    used = [r for r in reasons if any(f["reasons"][r["code"]] for _n, f in data)]
    color = {r["code"]: REASON_COLORS[min(i, len(REASON_COLORS) - 1)] for i, r in enumerate(reasons)}
    color[reasons[-1]["code"]] = REASON_COLORS[-1]  # no reason given: grey
    legend, lx, ly = [], PAD_L, PAD_T - 6  # the legend from the left, on as many lines as it needs
    for r in used:
        text = r["label_en"] if lang == "en" else r["label"]
        width = 14 + _text_width(text, 11) + 12
        if lx + width > W - PAD_R and lx > PAD_L:
            lx, ly = PAD_L, ly + 16
        legend.append(f'<rect x="{lx:.1f}" y="{ly}" width="10" height="10" rx="2" fill="{color[r["code"]]}"/>'
                      f'<text x="{lx + 14:.1f}" y="{ly + 9}" fill="{MUTED}" font-size="11">{escape(text)}</text>')
        lx += width
    left, right, top_pad = 170, 120, ly + 28  # right: room for "12 · 转办率 100%" beside the longest bar
    plot_w = W - left - right
    height = max(H, top_pad + 30 + len(data) * 36)
    row_h = (height - top_pad - 30) / len(data)
    bar = min(18.0, row_h - 8)
    most = max(f["transfers"] for _n, f in data)
    top = 4 * math.ceil(most / 4) if most <= 40 else _nice_max(most)
    body = _rows_start(title, height, left, plot_w, top_pad, lambda i: _fmt(top * i / 4))
    for i, (name, f) in enumerate(data):
        y = top_pad + 4 + i * row_h
        body.append(_row_label(_at_the_dot(name), left - 8, y + bar / 2 + 4, 14))
        x = left
        for r in used:
            n = f["reasons"][r["code"]]
            if not n:
                continue
            bw = plot_w * n / top
            label = r["label_en"] if lang == "en" else r["label"]
            body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bw:.1f}" height="{bar:.1f}" fill="{color[r["code"]]}">'
                        f'<title>{escape(name)} · {escape(label)} {n}</title></rect>')
            if bw >= _text_width(str(n), 11) + 4:  # the count on its segment where it fits (its <title> has it)
                body.append(f'<text x="{x + bw / 2:.1f}" y="{y + bar - 5:.1f}" text-anchor="middle" fill="#ffffff" '
                            f'font-size="11">{n}</text>')
            x += bw
        rate = f["rate"]
        side = f'{f["transfers"]} · {_t("transfer_rate", lang)} {"—" if rate is None else f"{rate:g}%"}'
        body.append(f'<text x="{x + 6:.1f}" y="{y + bar - 4:.1f}" fill="{MUTED}" font-size="11">{escape(side)}</text>')
    return _rows_svg(title, height, body, legend)
