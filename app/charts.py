"""Server-rendered SVG charts (no JavaScript): horizontal bars, a time series line, a scatter map and a choropleth.

Each chart has a <title> and <desc> for screen readers, and pages show the same numbers in a table.
All text is escaped; the output is safe to mark as Markup.
"""
from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

PALETTE = ("#0b5394", "#a4161a", "#1e6b2f", "#8a4b00", "#5b2a86", "#00607a", "#6b6b00")


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _text_width(text: str, font_px: float) -> float:
    """Rough rendered width: wide (CJK) characters take a full em, others about 0.6 em (no font metrics here)."""
    return sum(font_px if unicodedata.east_asian_width(ch) in "WF" else font_px * 0.6 for ch in text)


def _fit(text: str, max_px: float, font_px: float) -> str:
    """`text`, or as much of it as fits in `max_px` followed by an ellipsis."""
    if _text_width(text, font_px) <= max_px:
        return text
    while text and _text_width(text + "…", font_px) > max_px:
        text = text[:-1]
    return text.rstrip() + "…"


def bar_chart(items: Sequence[tuple[str, float]], *, title: str, description: str = "", width: int = 640,
              bar_height: int = 22, label_width: int = 200, value_suffix: str = "", color: str = PALETTE[0],
              links: Sequence[str | None] | None = None) -> Markup:
    """Horizontal bar chart: one bar per (label, value); optional link per bar."""
    items = list(items)
    gap = 6
    height = max(1, len(items)) * (bar_height + gap) + 10
    top = max((v for _, v in items), default=0) or 1
    plot = width - label_width - 80
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title><desc>{escape(description or title)}</desc>",
    ]
    for i, (label, value) in enumerate(items):
        y = 5 + i * (bar_height + gap)
        w = max(1.0, plot * (value / top)) if value else 0
        short = _fit(label, label_width - 12, 13)
        full = f"<title>{escape(label)}</title>" if short != label else ""
        bar = (f'<text x="{label_width - 8}" y="{y + bar_height * 0.7:.1f}" text-anchor="end" font-size="13">{full}{escape(short)}</text>'
               f'<rect x="{label_width}" y="{y}" width="{w:.1f}" height="{bar_height}" fill="{color}"/>'
               f'<text x="{label_width + w + 6:.1f}" y="{y + bar_height * 0.7:.1f}" font-size="13">{escape(_fmt(value))}{escape(value_suffix)}</text>')
        link = links[i] if links and i < len(links) else None
        parts.append(f'<a href="{escape(link)}">{bar}</a>' if link else bar)
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(points: Sequence[tuple[str, float]], *, title: str, description: str = "", width: int = 640,
               height: int = 200, color: str = PALETTE[0]) -> Markup:
    """A simple line over time: points are (x label, value), in order; first and last labels are drawn."""
    points = list(points)
    pad_l, pad_b, pad_t, pad_r = 60, 30, 10, 10
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b
    top = max((v for _, v in points), default=0) or 1
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title><desc>{escape(description or title)}</desc>',
             f'<line x1="{pad_l}" y1="{pad_t + plot_h}" x2="{pad_l + plot_w}" y2="{pad_t + plot_h}" stroke="#4a4a4a"/>',
             f'<text x="{pad_l - 6}" y="{pad_t + 10}" text-anchor="end" font-size="12">{escape(_fmt(top))}</text>',
             f'<text x="{pad_l - 6}" y="{pad_t + plot_h}" text-anchor="end" font-size="12">0</text>']
    if points:
        n = max(1, len(points) - 1)
        coords = [(pad_l + plot_w * i / n, pad_t + plot_h * (1 - v / top)) for i, (_, v) in enumerate(points)]
        parts.append('<polyline fill="none" stroke-width="2" stroke="' + color + '" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in coords) + '"/>')
        parts.append(f'<text x="{pad_l}" y="{height - 8}" font-size="12">{escape(points[0][0])}</text>')
        parts.append(f'<text x="{pad_l + plot_w}" y="{height - 8}" text-anchor="end" font-size="12">{escape(points[-1][0])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def scatter_map(points: Sequence[tuple[float, float, int]], *, title: str, description: str = "",
                group_names: Sequence[str] = (), width: int = 480, height: int = 360,
                label_groups: bool = False) -> Markup:
    """Anonymous 2-D map: (x, y, group) per point, coloured by group, with a legend. No identities.

    `label_groups` also writes each group's name at the centre of its points, so the map reads without
    matching colours to the legend (and in black-and-white print)."""
    points = list(points)
    pad = 20
    if points:
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    else:
        x0 = y0 = 0.0
        x1 = y1 = 1.0
    sx = (width - 2 * pad - 120) / ((x1 - x0) or 1)
    sy = (height - 2 * pad) / ((y1 - y0) or 1)
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title><desc>{escape(description or title)}</desc>',
             f'<rect x="0.5" y="0.5" width="{width - 121}" height="{height - 1}" fill="none" stroke="#c7c7c7"/>']
    for x, y, g in points:
        color = PALETTE[g % len(PALETTE)] if g >= 0 else "#767676"
        parts.append(f'<circle cx="{pad + (x - x0) * sx:.1f}" cy="{height - pad - (y - y0) * sy:.1f}" r="3" '
                     f'fill="{color}" fill-opacity="0.7"/>')
    if label_groups:
        for g, name in enumerate(group_names):
            mine = [(x, y) for x, y, pg in points if pg == g]
            if not mine:
                continue
            cx = pad + (sum(x for x, _ in mine) / len(mine) - x0) * sx
            cy = height - pad - (sum(y for _, y in mine) / len(mine) - y0) * sy
            cx = min(max(cx, pad + _text_width(name, 14) / 2), width - 121 - _text_width(name, 14) / 2)
            cy = min(max(cy, 16.0), height - 6.0)
            parts.append(f'<text x="{cx:.1f}" y="{cy:.1f}" text-anchor="middle" font-size="14" font-weight="bold" '
                         f'fill="#111" stroke="#fff" stroke-width="4" paint-order="stroke">{escape(name)}</text>')
    for i, name in enumerate(group_names):
        y = 20 + i * 22
        parts.append(f'<rect x="{width - 110}" y="{y - 10}" width="12" height="12" fill="{PALETTE[i % len(PALETTE)]}"/>'
                     f'<text x="{width - 92}" y="{y}" font-size="13">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def sparkline(values: Sequence[float], *, title: str, description: str = "", width: int = 120, height: int = 28,
              color: str = PALETTE[0]) -> Markup:
    """A word-sized line of values in order, with no axes (the numbers are printed beside it and in a table)."""
    values = list(values)
    top = max(values, default=0) or 1
    n = max(1, len(values) - 1)
    parts = [f'<svg class="chart sparkline" role="img" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
             f'<desc>{escape(description or title)}</desc>',
             f'<line x1="0" y1="{height - 1}" x2="{width}" y2="{height - 1}" stroke="#767676"/>']
    if values:
        coords = [(width * i / n if len(values) > 1 else width / 2, 2 + (height - 4) * (1 - v / top))
                  for i, v in enumerate(values)]
        parts.append(f'<polyline fill="none" stroke-width="2" stroke="{color}" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in coords) + '"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def share_bar(fraction: float, *, width: int = 100, height: int = 12, color: str = PALETTE[0]) -> Markup:
    """A bar for a share (0..1) drawn next to its number; hidden from screen readers, which read the number."""
    w = max(0.0, min(1.0, fraction)) * width
    return Markup(f'<svg class="chart share-bar" aria-hidden="true" focusable="false" viewBox="0 0 {width} {height}" '
                  f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
                  f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" fill="#fff" stroke="#767676"/>'
                  f'<rect x="0" y="0" width="{w:.1f}" height="{height}" fill="{color}"/></svg>')


AGREE_COLOR, DISAGREE_COLOR = "#1e6b2f", "#a4161a"


def balance_bar(agree: int, disagree: int, *, width: int = 100, height: int = 12) -> Markup:
    """Agree against disagree votes as one split bar (agree from the left, disagree from the right), drawn next to
    the two numbers; hidden from screen readers, which read the numbers."""
    total = agree + disagree
    parts = [f'<svg class="chart balance-bar" aria-hidden="true" focusable="false" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
             f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" fill="#fff" stroke="#767676"/>']
    if total:
        a = width * agree / total
        parts.append(f'<rect x="0" y="0" width="{a:.1f}" height="{height}" fill="{AGREE_COLOR}"/>'
                     f'<rect x="{a:.1f}" y="0" width="{width - a:.1f}" height="{height}" fill="{DISAGREE_COLOR}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def multi_line_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *, title: str,
                     description: str = "", width: int = 640, height: int = 220) -> Markup:
    """Several lines over the same x labels (in order), each (name, values), with a legend; first and last labels
    are drawn. Lines are told apart by colour and dash pattern, not by colour alone."""
    pad_l, pad_b, pad_t, pad_r = 60, 30, 10, 150
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b
    top = max((v for _, values in series for v in values), default=0) or 1
    dashes = ("", "6 3", "2 3", "8 3 2 3")
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title><desc>{escape(description or title)}</desc>',
             f'<line x1="{pad_l}" y1="{pad_t + plot_h}" x2="{pad_l + plot_w}" y2="{pad_t + plot_h}" stroke="#4a4a4a"/>',
             f'<text x="{pad_l - 6}" y="{pad_t + 10}" text-anchor="end" font-size="12">{escape(_fmt(top))}</text>',
             f'<text x="{pad_l - 6}" y="{pad_t + plot_h}" text-anchor="end" font-size="12">0</text>']
    n = max(1, len(labels) - 1)
    for i, (name, values) in enumerate(series):
        color, dash = PALETTE[i % len(PALETTE)], dashes[i % len(dashes)]
        coords = [(pad_l + plot_w * j / n, pad_t + plot_h * (1 - v / top)) for j, v in enumerate(values)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        if coords:
            parts.append(f'<polyline fill="none" stroke-width="2" stroke="{color}"{dash_attr} points="'
                         + " ".join(f"{x:.1f},{y:.1f}" for x, y in coords) + '"/>')
        y = pad_t + 12 + i * 20
        parts.append(f'<line x1="{width - pad_r + 12}" y1="{y - 4}" x2="{width - pad_r + 36}" y2="{y - 4}" '
                     f'stroke="{color}" stroke-width="2"{dash_attr}/>'
                     f'<text x="{width - pad_r + 42}" y="{y}" font-size="12">{escape(_fit(name, pad_r - 46, 12))}</text>')
    if labels:
        parts.append(f'<text x="{pad_l}" y="{height - 8}" font-size="12">{escape(labels[0])}</text>')
        parts.append(f'<text x="{pad_l + plot_w}" y="{height - 8}" text-anchor="end" font-size="12">{escape(labels[-1])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


CHOROPLETH_CLASSES = ("#c6dbef", "#6baed6", "#2171b5", "#08306b")
CHOROPLETH_EMPTY = "#ffffff"
CHOROPLETH_SMALL = "#e8e1f0"  # counts too small to publish: a colour outside the blue scale, not its lowest class


def _class_bounds(top: int, n: int) -> list[tuple[int, int]]:
    """Up to `n` equal-width count ranges covering 1..top (fewer when top is small)."""
    n = max(1, min(n, top))
    bounds, low = [], 1
    for i in range(1, n + 1):
        high = math.ceil(top * i / n)
        if high >= low:
            bounds.append((low, high))
            low = high + 1
    return bounds


def choropleth(paths: dict[str, str], counts: dict[str, int], *, width: float, height: float, title: str,
               description: str, area_label, legend_title: str, empty_label: str,
               small_areas: frozenset[str] | set[str] = frozenset(), small_label: str = "") -> Markup:
    """A map of areas shaded by count, with a legend of the colour classes.

    `paths` are SVG path data per area (see app.geo); `area_label(area, count)` gives each area's accessible
    name (also its tooltip). Areas without a count are drawn in the empty colour. `small_areas` have a count too
    small to publish: they get one colour of their own (legend `small_label`) and no count in the markup.
    """
    top = max((counts.get(a, 0) for a in paths), default=0)
    bounds = _class_bounds(top, len(CHOROPLETH_CLASSES)) if top else []
    colors = CHOROPLETH_CLASSES[len(CHOROPLETH_CLASSES) - len(bounds):] if bounds else ()
    small_shown = [a for a in paths if a in small_areas]

    def fill(n: int) -> str:
        for (low, high), color in zip(bounds, colors):
            if low <= n <= high:
                return color
        return CHOROPLETH_EMPTY

    legend_w = 170
    total_w, total_h = width + legend_w + 10, max(height, 30 + 22 * (len(bounds) + 1 + bool(small_shown))) + 2
    parts = [f'<svg class="chart choropleth" role="group" viewBox="0 0 {total_w:.0f} {total_h:.0f}" '
             f'width="{total_w:.0f}" height="{total_h:.0f}" xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title><desc>{escape(description)}</desc>", '<g transform="translate(1,1)">']
    for area, d in paths.items():
        n = counts.get(area, 0)
        label = escape(area_label(area, n))
        if area in small_areas:
            color, data = CHOROPLETH_SMALL, 'data-count="small"'
        else:
            color, data = fill(n), f'data-count="{n}"'
        parts.append(f'<path role="img" aria-label="{label}" d="{escape(d)}" fill="{color}" fill-rule="evenodd" '
                     f'stroke="#4a4a4a" stroke-width="1" data-area="{escape(area)}" {data}><title>{label}</title></path>')
    parts.append("</g>")
    x = width + 20
    parts.append(f'<g class="legend"><text x="{x:.0f}" y="18" font-size="13" font-weight="bold">{escape(legend_title)}</text>')
    items = [(CHOROPLETH_EMPTY, empty_label)] + ([(CHOROPLETH_SMALL, small_label)] if small_shown else []) + [
        (color, _fmt(low) if low == high else f"{_fmt(low)}–{_fmt(high)}") for (low, high), color in zip(bounds, colors)]
    for i, (color, text) in enumerate(items):
        y = 30 + i * 22
        parts.append(f'<rect x="{x:.0f}" y="{y}" width="14" height="14" fill="{color}" stroke="#4a4a4a"/>'
                     f'<text x="{x + 22:.0f}" y="{y + 12}" font-size="13">{escape(text)}</text>')
    parts.append("</g></svg>")
    return Markup("".join(parts))
