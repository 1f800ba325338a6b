"""Small server-side SVG charts: horizontal bars, a stacked distribution bar and a line chart.

The charts draw numbers the tools computed; each label and value text comes from the caller
already formatted, and is escaped here (account names reach the charts). The output is inline
SVG with presentation attributes only (no script, no style attribute), so it works offline, in
an e-mailed file and under a strict Content-Security-Policy."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

# one palette for the web app and portfolio.html
COLORS = {
    "green": "#2e7d32",
    "yellow": "#c99a06",
    "red": "#c62828",
    "low": "#2e7d32",
    "medium": "#c99a06",
    "high": "#e65100",
    "critical": "#8e0000",
    "unknown": "#9e9e9e",
    "bar": "#3b6ea5",
    "accent": "#6a1b9a",
    "target": "#555555",
}
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def _t(text: object) -> str:
    return escape(str(text), quote=True)


def _n(value: float) -> str:
    """A coordinate with at most one decimal."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg(width: int, height: int, title: str) -> str:
    """The opening of a chart: its size, font and (escaped) title."""
    return (
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg" {FONT}>'
        f"<title>{_t(title)}</title>"
    )


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its value on the chart's scale (None: unknown), the text shown
    beside it and its colour."""

    label: str
    value: float | None
    text: str
    color: str = COLORS["bar"]


def bar_chart(
    bars: Sequence[Bar], title: str, scale_max: float = 100.0, label_width: int = 190,
    width: int = 560,
) -> str:
    """Horizontal bars on a 0..scale_max scale, one row per bar, the value text at its end;
    an unknown value is an empty outline marked "unknown"."""
    row, top = 26, 8
    plot = width - label_width - 130
    height = top + row * len(bars) + 6
    parts = [
        _svg(width, height, title),
        f'<line x1="{label_width}" y1="{top - 4}" x2="{label_width}" '
        f'y2="{height - 4}" stroke="#bbb"/>',
    ]
    for i, bar in enumerate(bars):
        y = top + i * row
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end" fill="#222">'
            f"{_t(bar.label)}</text>"
        )
        if bar.value is None:
            parts.append(
                f'<rect x="{label_width}" y="{y + 3}" width="{plot}" height="16" fill="none" '
                f'stroke="{COLORS["unknown"]}" stroke-dasharray="4 3"/>'
                f'<text x="{label_width + 8}" y="{y + 15}" fill="#666">{_t(bar.text)}</text>'
            )
            continue
        share = max(0.0, min(1.0, bar.value / scale_max)) if scale_max else 0.0
        length = plot * share
        parts.append(
            f'<rect x="{label_width}" y="{y + 3}" width="{_n(length)}" height="16" '
            f'fill="{_t(bar.color)}"><title>{_t(bar.label)}: {_t(bar.text)}</title></rect>'
            f'<text x="{_n(label_width + length + 6)}" y="{y + 15}" fill="#222">'
            f"{_t(bar.text)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class Part:
    """One part of a distribution: its label, count, shown text and colour."""

    label: str
    count: float
    text: str
    color: str


def stacked_bar(parts: Sequence[Part], title: str, width: int = 560) -> str:
    """One bar split in proportion to the parts' counts, with a legend under it."""
    total = sum(p.count for p in parts if p.count > 0)
    height = 30 + 22 * ((len(parts) + 2) // 3)
    out = [
        _svg(width, height, title),
    ]
    x = 0.0
    for part in parts:
        if part.count <= 0 or not total:
            continue
        length = width * part.count / total
        out.append(
            f'<rect x="{_n(x)}" y="0" width="{_n(length)}" height="20" fill="{_t(part.color)}">'
            f"<title>{_t(part.label)}: {_t(part.text)}</title></rect>"
        )
        x += length
    if not total:
        out.append(f'<rect x="0" y="0" width="{width}" height="20" fill="none" stroke="#bbb"/>')
    for i, part in enumerate(parts):
        lx, ly = (i % 3) * (width / 3), 30 + 22 * (i // 3)
        out.append(
            f'<rect x="{_n(lx)}" y="{ly}" width="12" height="12" fill="{_t(part.color)}"/>'
            f'<text x="{_n(lx + 18)}" y="{ly + 11}" fill="#222">{_t(part.label)}: '
            f"{_t(part.text)}</text>"
        )
    out.append("</svg>")
    return "".join(out)


@dataclass(frozen=True)
class Series:
    """One line: its name, one value per x position (None: unknown, a gap) and its colour."""

    name: str
    values: Sequence[float | None]
    color: str


def line_chart(
    series: Sequence[Series],
    x_labels: Sequence[str],
    title: str,
    y_text: Callable[[float], str],
    target: tuple[float, str] | None = None,
    width: int = 560,
    height: int = 200,
) -> str:
    """Lines over the x positions (dates, say), each point with its value as a tooltip; the
    y axis spans the values (and the target line, when given) and names its two ends."""
    known = [v for s in series for v in s.values if v is not None]
    if target is not None:
        known.append(target[0])
    left, right, top, bottom = 78, 16, 12, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    out = [
        _svg(width, height, title),
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafafa" '
        f'stroke="#ddd"/>',
    ]
    if not known or not x_labels:
        out.append(f'<text x="{left + 8}" y="{top + 20}" fill="#666">no data</text></svg>')
        return "".join(out)
    shown = sorted({min(known), max(known)})  # the axis names only values it was given
    low, high = shown[0], shown[-1]
    if low == high:  # one value: the line sits in the middle
        low, high = low - 1.0, high + 1.0
    count = len(x_labels)

    def px(i: int) -> float:
        return left + (plot_w * i / (count - 1) if count > 1 else plot_w / 2)

    def py(v: float) -> float:
        return top + plot_h * (1 - (v - low) / (high - low))

    for value in shown:
        out.append(
            f'<text x="{left - 6}" y="{_n(py(value) + 4)}" text-anchor="end" fill="#555">'
            f"{_t(y_text(value))}</text>"
        )
    if target is not None:
        y = py(target[0])
        out.append(
            f'<line x1="{left}" y1="{_n(y)}" x2="{left + plot_w}" y2="{_n(y)}" '
            f'stroke="{COLORS["target"]}" stroke-dasharray="6 4"/>'
            f'<text x="{left + plot_w - 4}" y="{_n(y - 4)}" text-anchor="end" fill="#555">'
            f"{_t(target[1])}</text>"
        )
    step = max(1, count // 6)
    for i, label in enumerate(x_labels):
        if i % step == 0 or i == count - 1:
            anchor = "start" if i == 0 and count > 1 else "end" if i == count - 1 and count > 1 \
                else "middle"
            out.append(
                f'<text x="{_n(px(i))}" y="{height - bottom + 16}" text-anchor="{anchor}" '
                f'fill="#555">{_t(label)}</text>'
            )
    for s in series:
        points = [(px(i), py(v), v, x_labels[i]) for i, v in enumerate(s.values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{_n(x)},{_n(y)}" for x, y, _, _ in points)
            out.append(
                f'<polyline points="{path}" fill="none" stroke="{_t(s.color)}" '
                f'stroke-width="2"/>'
            )
        for x, y, v, label in points:
            out.append(
                f'<circle cx="{_n(x)}" cy="{_n(y)}" r="3.5" fill="{_t(s.color)}">'
                f"<title>{_t(s.name)}, {_t(label)}: {_t(y_text(v))}</title></circle>"
            )
    for i, s in enumerate(series):
        lx = left + i * 150
        out.append(
            f'<rect x="{lx}" y="{height - 14}" width="12" height="4" fill="{_t(s.color)}"/>'
            f'<text x="{lx + 18}" y="{height - 8}" fill="#222">{_t(s.name)}</text>'
        )
    out.append("</svg>")
    return "".join(out)
