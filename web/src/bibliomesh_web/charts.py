"""Charts as inline SVG drawn on the server: no script, no CDN, readable by screen readers (a title and a
description on each, and the same figures as a table beside it). Colours keep 4.5:1 contrast on white."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from unicodedata import east_asian_width

from markupsafe import Markup, escape

BLUE, ORANGE, GREY, INK = "#0b57a4", "#a04c00", "#767676", "#1b1b1b"
WIDTH = 640


def _svg(height: int, title: str, desc: str, body: list[str], chart_id: str) -> Markup:
    head = (f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
            f'aria-labelledby="{chart_id}-t {chart_id}-d" xmlns="http://www.w3.org/2000/svg">'
            f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(desc)}</desc>')
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 - every text inside went through escape()


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = 13, fill: str = INK) -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{fill}">'
            f"{escape(text)}</text>")


def line_chart(points: Sequence[tuple[str, float | None]], *, title: str, desc: str, chart_id: str,
               top: float | None = None, fmt: Callable[[float], str] = lambda v: f"{v:g}") -> Markup:
    """Values over time; a period without a value leaves a gap in the line."""
    height, left, right, upper, lower = 260, 56, 28, 16, 40
    values = [v for _, v in points if v is not None]
    ceiling = top if top is not None else nice_ceiling(max(values or [0.0]))
    plot_w, plot_h = WIDTH - left - right, height - upper - lower
    step = plot_w / max(1, len(points) - 1)
    body = []
    for tick in range(5):
        y = upper + plot_h - plot_h * tick / 4
        body.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d8d8d8"/>')
        body.append(_text(left - 6, y + 4, fmt(ceiling * tick / 4), "end", 12, GREY))
    widest = max((len(label) for label, _ in points), default=1) * 7 + 16  # about 7 px a character at 12 px
    every = max(1, math.ceil(len(points) / max(1, plot_w // widest)))
    segments: list[list[str]] = [[]]
    for index, (label, value) in enumerate(points):
        x = left + (step * index if len(points) > 1 else plot_w / 2)
        if index % every == 0:
            body.append(_text(x, height - lower + 18, label, "middle", 12, GREY))
        if value is None:
            segments.append([])
            continue
        y = upper + plot_h - plot_h * min(value, ceiling) / ceiling
        segments[-1].append(f"{x:.1f},{y:.1f}")
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{BLUE}"><title>{escape(label)}: '
                    f"{escape(fmt(value))}</title></circle>")
    body += [f'<polyline points="{" ".join(s)}" fill="none" stroke="{BLUE}" stroke-width="2.5"/>'
             for s in segments if len(s) > 1]
    body.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{upper + plot_h}" y2="{upper + plot_h}" stroke="{INK}"/>')
    return _svg(height, title, desc, body, chart_id)


def bar_chart(items: Sequence[tuple[str, float]], *, title: str, desc: str, chart_id: str,
              fmt: Callable[[float], str] = lambda v: f"{v:g}") -> Markup:
    """Horizontal bars, longest first as given; labels left, values at the bar's end."""
    row, label_w = 30, 230
    height = max(60, row * len(items) + 20)
    top = max([v for _, v in items] or [1.0]) or 1.0
    body = []
    for index, (label, value) in enumerate(items):
        y = 10 + index * row
        length = (WIDTH - label_w - 70) * value / top
        body.append(_text(label_w - 8, y + 17, _clip(label), "end"))
        body.append(f'<rect x="{label_w}" y="{y + 4}" width="{max(length, 1):.1f}" height="18" fill="{BLUE}"/>')
        body.append(_text(label_w + length + 6, y + 17, fmt(value)))
    return _svg(height, title, desc, body, chart_id)


def paired_bars(items: Sequence[tuple[str, float, float]], legend: tuple[str, str], *, title: str, desc: str,
                chart_id: str) -> Markup:
    """Two bars per row (lent, borrowed), so each institution's balance shows at a glance."""
    row, label_w = 46, 230
    height = row * len(items) + 44
    top = max([max(a, b) for _, a, b in items] or [1.0]) or 1.0
    span = WIDTH - label_w - 60
    body = [f'<rect x="{label_w}" y="6" width="14" height="14" fill="{BLUE}"/>', _text(label_w + 20, 18, legend[0]),
            f'<rect x="{label_w + 160}" y="6" width="14" height="14" fill="{ORANGE}"/>',
            _text(label_w + 180, 18, legend[1])]
    for index, (label, first, second) in enumerate(items):
        y = 32 + index * row
        body.append(_text(label_w - 8, y + 24, _clip(label), "end"))
        for offset, value, colour in ((2, first, BLUE), (22, second, ORANGE)):
            length = span * value / top
            body.append(f'<rect x="{label_w}" y="{y + offset}" width="{max(length, 1):.1f}" height="16" '
                        f'fill="{colour}"/>')
            body.append(_text(label_w + length + 6, y + offset + 13, f"{value:g}", size=12))
    return _svg(height, title, desc, body, chart_id)


def nice_ceiling(value: float) -> float:
    """The axis top: 1, 2 or 5 times a power of ten, at or above the largest value."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(float(m * power) for m in (1, 2, 5, 10) if value <= m * power)


def _clip(label: str, limit: int = 32) -> str:
    """Cut a label to about `limit` narrow characters' width (a Chinese character counts as two)."""
    used = 0
    for index, char in enumerate(label):
        used += 2 if east_asian_width(char) in "WF" else 1
        if used > limit:
            return label[: max(index - 1, 1)] + "…"
    return label
