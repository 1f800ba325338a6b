"""The SVG charts of the web app and portfolio.html: escaped text, unknown values shown as
unknown, axes that name only the values they were given."""

from __future__ import annotations

import re

from agent.sweeps.charts import Bar, Part, Series, bar_chart, line_chart, stacked_bar


def test_bar_chart_escapes_labels_and_marks_unknown_values():
    svg = bar_chart([Bar("<script>x</script>", 50.0, "50 & more"), Bar("gone", None, "unknown")],
                    'title "quoted"')
    assert "<script>" not in svg and "&lt;script&gt;x&lt;/script&gt;" in svg
    assert "50 &amp; more" in svg and "&quot;quoted&quot;" in svg
    assert 'stroke-dasharray="4 3"' in svg  # the unknown bar is an outline
    widths = [float(w) for w in re.findall(r'<rect x="\d+" y="\d+" width="([\d.]+)" '
                                           r'height="16" fill="#', svg)]
    assert widths == [120.0]  # half of the 240-pixel plot: 50 of 100


def test_line_chart_leaves_gaps_and_names_only_given_values():
    svg = line_chart([Series("GRR", [0.9, None, 0.95], "#000")], ["a", "b", "c"], "t",
                     lambda v: f"{v:.2f}")
    assert svg.count("<circle") == 2 and "0.90" in svg and "0.95" in svg
    labels = re.findall(r'text-anchor="end" fill="#555">([^<]+)<', svg)
    assert sorted(labels)[:2] == ["0.90", "0.95"]
    empty = line_chart([Series("x", [None], "#000")], ["a"], "t", str)
    assert "no data" in empty


def test_stacked_bar_without_counts_draws_an_empty_outline():
    svg = stacked_bar([Part("low", 0, "0", "#0f0")], "none")
    assert 'fill="none"' in svg and "low: 0" in svg
