"""The console's SVG chart renderer: bar heights and widths proportional to the values on one scale,
every text escaped, nothing a strict CSP would block, and sensible axes."""
import re

import pytest

from web.console.charts import Series, bar_rows, column_chart, fit, nice_scale

HOSTILE = '<script>alert(1)</script>"\'&'


def rects(svg: str, kind: str) -> list[dict[str, float]]:
    found = re.findall(rf'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"[^>]*class="bar bar-{kind}"',
                       str(svg))
    return [dict(x=float(x), y=float(y), w=float(w), h=float(h)) for x, y, w, h in found]


def test_column_heights_are_proportional_to_the_values_and_stack_from_the_axis():
    svg = column_chart("c", title="t", categories=["a", "b", "c"],
                       series=[Series("ok", [2, 4, 0], "good"), Series("no", [1, 0, 3], "bad")])
    good, bad = rects(svg, "good"), rects(svg, "bad")
    assert len(good) == 2 and len(bad) == 2  # zero values draw nothing
    assert good[1]["h"] == pytest.approx(2 * good[0]["h"], abs=0.2)
    assert bad[0]["h"] == pytest.approx(good[0]["h"] / 2, abs=0.2) and bad[1]["h"] == pytest.approx(1.5 * good[0]["h"], abs=0.2)
    # The bad bar of "a" sits on top of its good bar: its bottom is the good bar's top.
    assert bad[0]["y"] + bad[0]["h"] == pytest.approx(good[0]["y"], abs=0.2)
    assert good[0]["y"] + good[0]["h"] == pytest.approx(good[1]["y"] + good[1]["h"], abs=0.2)  # one baseline


def test_the_line_shares_the_scale_of_the_columns():
    svg = str(column_chart("c", title="t", categories=["a", "b"], series=[Series("x", [4, 0])],
                           line=Series("p", [2, 4], "wait")))
    bar = rects(svg, "good")[0]
    points = re.search(r'<polyline[^>]*points="([^"]+)"', svg).group(1).split()
    (_, y_half), (_, y_full) = (map(float, p.split(",")) for p in points)
    assert y_full == pytest.approx(bar["y"], abs=0.2)
    assert (bar["y"] + bar["h"]) - y_half == pytest.approx(bar["h"] / 2, abs=0.2)


def test_bar_widths_are_proportional_and_stacked_rows_add_up():
    svg = bar_rows("r", title="t", labels=["one", "two"], series=[Series("n", [5, 10], "info")])
    one, two = rects(svg, "info")
    assert two["w"] == pytest.approx(2 * one["w"], abs=0.2) and one["x"] == two["x"] == 0
    stacked = bar_rows("s", title="t", labels=["x"], stacked=True,
                       series=[Series("a", [1], "good"), Series("b", [3], "bad")])
    a, b = rects(stacked, "good")[0], rects(stacked, "bad")[0]
    assert b["x"] == pytest.approx(a["x"] + a["w"], abs=0.2) and b["w"] == pytest.approx(3 * a["w"], abs=0.2)
    assert ">4</text>" in str(stacked)  # the row's total after the bar


def test_a_fixed_top_value_caps_the_bars():
    svg = bar_rows("r", title="t", labels=["full", "over"], series=[Series("n", [1.0, 1.5], "info")], top_value=1.0)
    full, over = rects(svg, "info")
    assert full["w"] == over["w"]


def test_every_text_is_escaped_and_nothing_needs_inline_style_or_script():
    svg = str(column_chart("c", title=HOSTILE, categories=[HOSTILE], series=[Series(HOSTILE, [1], "bad")])
              + bar_rows("r", title=HOSTILE, labels=[HOSTILE], series=[Series(HOSTILE, [1])],
                         value_text=lambda i: HOSTILE))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "style=" not in svg and "<style" not in svg and " on" not in svg.replace(" onc", "")
    assert 'viewBox="0 0 ' in svg and 'role="img"' in svg


def test_long_labels_are_shortened_to_the_chart_width():
    assert fit("长" * 200) == "长" * 21 + "…" and fit("x" * 200) == "x" * 36 + "…"
    assert fit("福田接驳场") == "福田接驳场" and fit("Futian relay yard") == "Futian relay yard"
    svg = str(bar_rows("r", title="t", labels=["长" * 200], series=[Series("n", [1])]))
    assert re.search(r'class="chart-text chart-label">长{21}…</text>', svg)


@pytest.mark.parametrize("largest,expected", [(0, (1, 1)), (1, (1, 1)), (3, (3, 1)), (7, (8, 2)), (38, (40, 10)),
                                              (101, (150, 50)), (0.4, (1, 1))])
def test_axes_end_on_a_round_number(largest, expected):
    assert nice_scale(largest) == expected
