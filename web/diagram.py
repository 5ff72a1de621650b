"""The SOP flowchart drawn as inline SVG from the layout in :mod:`rules.diagram`.

Drawn on the server, so it needs no script and no library in the browser; styled by classes in
``app.css`` (the page's CSP forbids inline styles; SVG presentation attributes are only a
fallback). The current step gets the class ``current`` and visited steps ``visited``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from html import escape

from markupsafe import Markup

from rules.diagram import Diagram, Node, layout
from rules.model import Sop

LANE_LABEL = 120  # width of the lane titles at the left
COLUMN = 250
ROW = 112
BOX_W, BOX_H = 160, 80
DIAMOND_W, DIAMOND_H = 132, 72
LINE = 13  # line height of a box's text
CHARS = 25  # characters per line in a box
LINES = 4


def _size(node: Node) -> tuple[float, float]:
    return (DIAMOND_W, DIAMOND_H) if node.kind == "decision" else (BOX_W, BOX_H)


def _lines(text: str, width: int, limit: int) -> list[str]:
    lines = textwrap.wrap(text, width) or [""]
    if len(lines) > limit:
        lines = lines[:limit]
        lines[-1] = lines[-1][: width - 1].rstrip() + "…"
    return lines


def _text(x: float, y: float, lines: Iterable[str], css: str) -> str:
    spans = "".join(
        f'<tspan x="{x:.0f}" dy="{LINE if i else 0}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    size = ' font-size="10" fill="#333"' if css == "edge-label" else ""
    return f'<text class="{css}" x="{x:.0f}" y="{y:.0f}" text-anchor="middle"{size}>{spans}</text>'


def render(
    sop: Sop,
    *,
    current: str | None = None,
    visited: Iterable[str] = (),
    title: str = "",
    diagram: Diagram | None = None,
) -> Markup:
    """The SVG of ``sop``'s flowchart, with ``current`` (a step id) highlighted."""
    d = diagram or layout(sop)
    seen = set(visited)
    tops: dict[str, float] = {}
    y = 0.0
    for lane in d.lanes:
        tops[lane.role] = y
        y += lane.rows * ROW
    width = LANE_LABEL + d.columns * COLUMN
    height = y
    centre: dict[str, tuple[float, float]] = {}
    for n in d.nodes:
        centre[n.id] = (
            LANE_LABEL + n.column * COLUMN + COLUMN / 2,
            tops[n.lane] + n.row * ROW + ROW / 2,
        )
    nodes = {n.id: n for n in d.nodes}
    out: list[str] = [
        f'<svg class="flowchart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} '
        f'{height:.0f}" width="{width:.0f}" height="{height:.0f}" role="img" '
        f'aria-label="{escape(title or sop.title)}" font-family="sans-serif" font-size="11">',
        "<defs><marker id='arrow' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' "
        "markerHeight='7' orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' "
        "fill='#444'/></marker></defs>",
    ]
    for i, lane in enumerate(d.lanes):
        top = tops[lane.role]
        band = lane.rows * ROW
        out.append(
            f'<rect class="lane lane-{i % 2}" x="0" y="{top:.0f}" width="{width:.0f}" '
            f'height="{band:.0f}" fill="{"#f6f7f9" if i % 2 else "#fff"}" stroke="#ccc"/>'
        )
        out.append(
            _text(LANE_LABEL / 2, top + band / 2 - LINE, _lines(lane.title, 16, 4), "lane-title")
        )
    for e in d.edges:
        if e.source not in centre or e.target not in centre:
            continue
        (x1, y1), (x2, y2) = centre[e.source], centre[e.target]
        w1, h1 = _size(nodes[e.source])
        w2, h2 = _size(nodes[e.target])
        forward = nodes[e.target].column > nodes[e.source].column
        if forward:
            sx, sy, tx, ty = x1 + w1 / 2, y1, x2 - w2 / 2, y2
            path = (
                f"M{sx:.0f},{sy:.0f} C{sx + 40:.0f},{sy:.0f} "
                f"{tx - 40:.0f},{ty:.0f} {tx:.0f},{ty:.0f}"
            )
            lx, ly = (sx + tx) / 2, (sy + ty) / 2 - 4
        else:  # a way back (or within a column): below the boxes
            sx, sy, tx, ty = x1, y1 + h1 / 2, x2, y2 + h2 / 2
            dip = max(sy, ty) + ROW * 0.38
            path = f"M{sx:.0f},{sy:.0f} C{sx:.0f},{dip:.0f} {tx:.0f},{dip:.0f} {tx:.0f},{ty:.0f}"
            lx, ly = (sx + tx) / 2, dip - 6
        out.append(
            f'<path class="edge{"" if forward else " back"}" d="{path}" fill="none" '
            f'stroke="#444" marker-end="url(#arrow)"/>'
        )
        if e.label:
            out.append(_text(lx, ly, _lines(e.label, 18, 1), "edge-label"))
    for n in d.nodes:
        cx, cy = centre[n.id]
        w, h = _size(n)
        css = ["node", n.kind]
        if n.step is not None and n.step == current and n.kind != "decision":
            css.append("current")
        elif n.step in seen and n.kind != "decision":
            css.append("visited")
        cls = " ".join(css)
        fill = "#fff3c4" if "current" in css else "#fff"
        stroke = "#0b5cad" if "current" in css else "#555"
        label = escape(n.title + (f" ({n.limit})" if n.limit else ""))
        out.append(f'<g class="{cls}" data-step="{escape(n.step or "")}"><title>{label}</title>')
        if n.kind == "decision":
            corners = ((cx, cy - h / 2), (cx + w / 2, cy), (cx, cy + h / 2), (cx - w / 2, cy))
            points = " ".join(f"{px:.0f},{py:.0f}" for px, py in corners)
            out.append(f'<polygon points="{points}" fill="{fill}" stroke="{stroke}"/>')
            lines = _lines(n.title, 16, 2)
        else:
            radius = h / 2 if n.kind in ("start", "end") else 6
            out.append(
                f'<rect x="{cx - w / 2:.0f}" y="{cy - h / 2:.0f}" width="{w:.0f}" '
                f'height="{h:.0f}" rx="{radius:.0f}" fill="{fill}" stroke="{stroke}"/>'
            )
            lines = _lines(n.title, CHARS if n.kind == "step" else 22, LINES - 1)
            if n.number:
                lines[0] = f"{n.number}. {lines[0]}"
        total = len(lines) + (1 if n.limit else 0)
        first = cy - (total - 1) * LINE / 2 + 4
        out.append(_text(cx, first, lines, "node-title"))
        if n.limit:
            out.append(_text(cx, first + len(lines) * LINE, [f"[{n.limit}]"], "node-limit"))
        out.append("</g>")
    out.append("</svg>")
    return Markup("".join(out))
