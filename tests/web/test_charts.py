"""Server-side SVG charts: no scripts, Chinese labels, and the numbers in a table."""
import math
import re

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


def test_radar_scale_runs_1_to_5_with_no_label_on_the_top_one():
    chart = charts.radar("四种能力", ["矛盾化解", "要素管控", "处警办案", "群众工作"],
                         {"他评": [4.2, 3.1, 4.8, 2.0]})
    texts = set(re.findall(r"<text[^>]*>([^<]*)</text>", str(chart.svg)))
    assert {"1", "2", "3", "4"} <= texts
    assert "0" not in texts and "5" not in texts  # no 0 on a 1–5 scale; no 5 printed over the top label
    assert 'transform="rotate(0.000000' in str(chart.svg)  # competency labels stay horizontal


def test_count_charts_have_whole_number_ticks_and_histograms_drop_empty_ends():
    assert charts._integer_ticks(2) == [0, 1, 2]
    assert charts._integer_ticks(23) == [0, 5, 10, 15, 20, 25]
    hist = charts.histogram("分布", [62, 65, 71, 88], bins=list(range(0, 120, 10)), label="人数")
    assert [row[0] for row in hist.rows] == ["60–70", "70–80", "80–90"]
    assert [row[1] for row in hist.rows] == [2, 1, 1]
    texts = set(re.findall(r"<text[^>]*>([^<]*)</text>", str(hist.svg)))
    assert not any(re.fullmatch(r"\d+\.\d+", t) for t in texts)  # no 0.2 of a person
    counts = charts.bars("等次", ["优秀", "良好"], {"一类": [1, 2]}, value_range=(0, 2))
    texts = set(re.findall(r"<text[^>]*>([^<]*)</text>", str(counts.svg)))
    assert not any(re.fullmatch(r"\d+\.\d+", t) for t in texts)
