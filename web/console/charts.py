"""A small server-side SVG chart renderer for the console: stacked columns over time (with an optional line)
and labelled horizontal bars. No script, no inline style (the pages' CSP forbids both): colours and
patterns are SVG presentation attributes, sizes come from the viewBox, so a chart fills its box at any
width, works offline and prints. Every text is escaped here. Colours are never alone: the bad series is
hatched, the line is dashed with dots, and each chart comes with a data table (the templates')."""
import math
from dataclasses import dataclass
from typing import Callable, Sequence

from markupsafe import Markup, escape

WIDTH = 320
FONT = 14
# kind → (fill, stroke): the same names as the legend swatches in charts.css.
KINDS = {"good": ("#2e7d32", "#1b5e20"), "bad": (None, "#a4000f"), "wait": ("#d99a00", "#5c3d00"),
         "info": ("#1f5fa8", "#123a66"), "plain": ("#6b6b6b", "#3d3d3d")}


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float]
    kind: str = "good"


def nice_scale(largest: float, ticks: int = 4) -> tuple[float, float]:
    """(top, step) of an axis from 0 that holds `largest`, with steps of 1, 2 or 5 × 10^k (at least 1)."""
    if largest <= 0:
        return 1.0, 1.0
    rough = largest / ticks
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    step = max(step, 1.0)
    return step * math.ceil(largest / step), step


def fit(text: str, width: float = WIDTH) -> str:
    """`text`, shortened with an ellipsis to about `width` user units (wide CJK characters count double);
    the table beside the chart shows it whole."""
    used = 0.0
    for i, char in enumerate(text):
        used += FONT if ord(char) >= 0x2E80 else FONT * 0.6
        if used > width - FONT:
            return text[:i] + "…"
    return text


def _fill(kind: str, chart_id: str) -> str:
    fill, _ = KINDS[kind]
    return fill or f"url(#{chart_id}-hatch)"


def _defs(chart_id: str) -> str:
    stroke = KINDS["bad"][1]
    return (f'<defs><pattern id="{chart_id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
            f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#f7d0d4"/>'
            f'<line x1="0" y1="0" x2="0" y2="6" stroke="{stroke}" stroke-width="3"/></pattern></defs>')


def _text(x: float, y: float, text: str, *, anchor: str = "start", css: str = "chart-text") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{FONT}" text-anchor="{anchor}" class="{css}">'
            f'{escape(text)}</text>')


def _svg(chart_id: str, title: str, height: float, body: list[str]) -> Markup:
    return Markup(f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {height:.0f}" role="img" '
                  f'aria-labelledby="{escape(chart_id)}-title" xmlns="http://www.w3.org/2000/svg">'
                  f'<title id="{escape(chart_id)}-title">{escape(title)}</title>{_defs(escape(chart_id))}'
                  + "".join(body) + "</svg>")


def column_chart(chart_id: str, *, title: str, categories: Sequence[str], series: Sequence[Series],
                 line: Series | None = None, label_every: int = 1, height: int = 200) -> Markup:
    """Stacked columns, one per category (a day, an hour), `series` from the bottom up; `line` is drawn over
    them on the same scale. Every `label_every`-th category, counted back from the last, is labelled on the x axis."""
    left, right, top, bottom = 34, 18, 10, 24
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    top_value, step = nice_scale(max([*totals, *(line.values if line else [])], default=0))
    scale = plot_h / top_value
    slot = plot_w / max(len(categories), 1)
    bar = max(slot * 0.72, 1.0)
    body = []
    for k in range(int(top_value / step) + 1):  # grid lines and y labels
        y = top + plot_h - k * step * scale
        body.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d0d0d0"/>')
        body.append(_text(left - 4, y + FONT / 3, f"{k * step:g}", anchor="end"))
    for i, name in enumerate(categories):
        x, base = left + i * slot + (slot - bar) / 2, top + plot_h
        for s in series:
            h = s.values[i] * scale
            if h > 0:
                body.append(f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                            f'fill="{_fill(s.kind, chart_id)}" stroke="{KINDS[s.kind][1]}" stroke-width="0.5" '
                            f'class="bar bar-{s.kind}"><title>{escape(f"{name} {s.label}: {s.values[i]:g}")}</title>'
                            f'</rect>')
                base -= h
        if (len(categories) - 1 - i) % label_every == 0:  # counted from the newest, which is always labelled
            body.append(_text(left + (i + 0.5) * slot, height - 6, name, anchor="middle"))
    body.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#3d3d3d"/>')
    if line is not None:
        points = [(left + (i + 0.5) * slot, top + plot_h - v * scale) for i, v in enumerate(line.values)]
        stroke = KINDS[line.kind][1]
        body.append(f'<polyline class="line" fill="none" stroke="{stroke}" stroke-width="2" stroke-dasharray="5 3" '
                    f'points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in points)}"/>')
        body += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{stroke}"/>' for x, y in points]
    return _svg(chart_id, title, height, body)


def bar_rows(chart_id: str, *, title: str, labels: Sequence[str], series: Sequence[Series],
             stacked: bool = False, value_text: Callable[[int], str] | None = None,
             top_value: float | None = None) -> Markup:
    """One row per label: the label above, then its bars (`series` side by side in the row, or one stacked
    bar), with the value (`value_text(row)` when given) after the bar end. Bars share one scale from 0 to
    `top_value` (default: the largest bar)."""
    label_h, bar_h, gap, value_w = FONT + 6, 14, 10, 96
    bars = 1 if stacked else len(series)
    row_h = label_h + bars * (bar_h + 2) + gap
    sizes = [sum(s.values[i] for s in series) if stacked else max((s.values[i] for s in series), default=0)
             for i in range(len(labels))]
    largest = top_value if top_value is not None else max(sizes, default=0)
    scale = (WIDTH - value_w) / largest if largest > 0 else 0
    body = []
    for i, label in enumerate(labels):
        y = i * row_h
        body.append(_text(0, y + FONT, fit(label), css="chart-text chart-label"))
        x, bar_y = 0.0, y + label_h
        for s in series:
            w = min(s.values[i], largest) * scale
            if w > 0:
                body.append(f'<rect x="{x:.1f}" y="{bar_y:.1f}" width="{w:.1f}" height="{bar_h}" '
                            f'fill="{_fill(s.kind, chart_id)}" stroke="{KINDS[s.kind][1]}" stroke-width="0.5" '
                            f'class="bar bar-{s.kind}"><title>{escape(f"{label} {s.label}: {s.values[i]:g}")}</title>'
                            f'</rect>')
            if stacked:
                x += w
            else:
                if value_text is None:
                    body.append(_text(w + 4, bar_y + bar_h - 1, f"{s.values[i]:g}"))
                bar_y += bar_h + 2
        end = x if stacked else max((min(s.values[i], largest) * scale for s in series), default=0)
        if value_text is not None or stacked:
            text = value_text(i) if value_text else f"{sizes[i]:g}"
            body.append(_text(end + 4, y + label_h + bar_h - 1, text))
    return _svg(chart_id, title, max(row_h * len(labels) - gap + 2, 20), body)
