"""Server-side SVG charts: no scripts, Chinese labels, and the numbers in a table."""
import math

from app.reports import charts


def test_radar_has_no_script_and_keeps_the_numbers():
    chart = charts.radar("四种能力", ["矛盾化解", "要素管控", "处警办案"],
                         {"自评": [4.0, 3.5, math.nan], "同事": [3.2, 3.9, 4.1]}, first_header="能力")
    assert "<script" not in chart.svg
    assert "矛盾化解" in chart.svg and "<svg" in chart.svg
    assert chart.headers == ["能力", "自评", "同事"]
    assert chart.rows[2] == ["处警办案", None, 4.1]


def test_bars_and_histogram():
    bars = charts.bars("维度得分", ["执法质量", "基础管控"], {"本所": [88.456, 71]}, horizontal=True)
    assert bars.rows == [["执法质量", 88.46], ["基础管控", 71.0]]
    assert "<script" not in bars.svg
    hist = charts.histogram("分布", [1.5, 2.5, 2.6, None, 4.9, math.nan], bins=[1, 2, 3, 4, 5], label="人数")
    assert [row[1] for row in hist.rows] == [1, 2, 0, 1]


def test_labels_are_escaped():
    chart = charts.bars("<b>", ["<script>alert(1)</script>"], {"x": [1]})
    assert "<script>alert" not in chart.svg
