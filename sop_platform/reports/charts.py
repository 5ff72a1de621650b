"""The report's two charts as plain SVG, drawn once for the web page and the PDF.

Met vs. breached per step (horizontal stacked bars) and the weekly trend (met and breached
visits of the cases submitted each week). Only rectangles, lines and text, so fpdf2's SVG
reader renders them as a browser does.
"""

from __future__ import annotations

from html import escape

from sop_platform.reports.conformance import ConformanceReport

MET = "#2e7d32"
BREACHED = "#c62828"
INK = "#222222"
GRID = "#bbbbbb"
FONT = "font-family='Helvetica, Arial, sans-serif'"


def _text(x: float, y: float, body: str, size: int = 11, anchor: str = "start") -> str:
    return (
        f"<text x='{x:.1f}' y='{y:.1f}' font-size='{size}' fill='{INK}' {FONT} "
        f"text-anchor='{anchor}'>{escape(body)}</text>"
    )


def _rect(x: float, y: float, w: float, h: float, colour: str) -> str:
    return (
        f"<rect x='{x:.1f}' y='{y:.1f}' width='{max(w, 0):.1f}' height='{h:.1f}' fill='{colour}'/>"
    )


def _legend(x: float, y: float, met: str, breached: str) -> list[str]:
    return [
        _rect(x, y - 9, 10, 10, MET),
        _text(x + 14, y, met, 10),
        _rect(x + 110, y - 9, 10, 10, BREACHED),
        _text(x + 124, y, breached, 10),
    ]


def steps_chart(report: ConformanceReport, lang: str = "id") -> str:
    """Met vs. breached visits per step with a deadline."""
    rows = [s for s in report.steps if s.limit is not None]
    label_w, bar_w, row_h = 190, 330, 24
    height = 40 + row_h * max(len(rows), 1) + 10
    width = label_w + bar_w + 70
    most = max((s.met + s.breached for s in rows), default=0) or 1
    met_word, breached_word = ("tepat waktu", "terlambat") if lang == "id" else ("met", "breached")
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}'>",
        *_legend(label_w, 16, met_word, breached_word),
    ]
    y = 34.0
    for step in rows:
        label = step.step if len(step.step) <= 26 else step.step[:25] + "…"
        parts.append(_text(label_w - 6, y + 15, label, 11, "end"))
        met_w = bar_w * step.met / most
        breached_w = bar_w * step.breached / most
        parts.append(_rect(label_w, y + 4, met_w, row_h - 8, MET))
        parts.append(_rect(label_w + met_w, y + 4, breached_w, row_h - 8, BREACHED))
        share = "-" if step.share_met is None else f"{step.share_met * 100:.0f}%"
        parts.append(_text(label_w + met_w + breached_w + 6, y + 15, f"{step.met}/{share}", 10))
        y += row_h
    if not rows:
        parts.append(_text(label_w, y + 15, "-", 11))
    parts.append("</svg>")
    return "".join(parts)


def trend_chart(report: ConformanceReport, lang: str = "id") -> str:
    """Met and breached visits per week of submission, as paired columns."""
    weeks = report.trend
    left, top, plot_h = 40, 30, 150
    col = max(8.0, min(36.0, 560 / max(len(weeks), 1)))
    width = int(left + col * len(weeks) + 20)
    height = top + plot_h + 40
    most = max((max(w["met"], w["breached"]) for w in weeks), default=0) or 1
    met_word, breached_word = ("tepat waktu", "terlambat") if lang == "id" else ("met", "breached")
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}'>",
        *_legend(left, 16, met_word, breached_word),
        f"<line x1='{left}' y1='{top + plot_h}' x2='{width - 10}' y2='{top + plot_h}' "
        f"stroke='{GRID}' stroke-width='1'/>",
        _text(left - 4, top + 8, str(most), 9, "end"),
        _text(left - 4, top + plot_h, "0", 9, "end"),
    ]
    every = max(1, len(weeks) // 8)  # at most about eight date labels
    for i, week in enumerate(weeks):
        x = left + i * col
        half = (col - 2) / 2
        met_h = plot_h * week["met"] / most
        breached_h = plot_h * week["breached"] / most
        parts.append(_rect(x + 1, top + plot_h - met_h, half, met_h, MET))
        parts.append(_rect(x + 1 + half, top + plot_h - breached_h, half, breached_h, BREACHED))
        if i % every == 0:
            parts.append(_text(x + 1, top + plot_h + 14, week["week"][5:], 9))
    parts.append("</svg>")
    return "".join(parts)
