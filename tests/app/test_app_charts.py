"""Server-rendered charts: labels fit their column, escaped text, the full label kept for screen readers."""
import re

from app.charts import bar_chart


def _labels(svg: str) -> list[str]:
    return [re.sub(r"<title>.*?</title>", "", t) for t in re.findall(r'text-anchor="end" font-size="13">(.*?)</text>', svg)]


def test_long_labels_are_shortened_to_their_column_and_keep_the_full_text():
    long_en = "waterways / maori / protecting / restoration"
    long_zh = "保护河流湖泊水质与恢复湿地生态的长期计划"
    svg = str(bar_chart([("Bus fares", 3), (long_en, 2), (long_zh, 1)], title="Themes", label_width=200))
    short, en, zh = _labels(svg)
    assert short == "Bus fares"
    assert en.endswith("…") and long_en.startswith(en[:-1].rstrip()) and len(en) < 32
    assert zh.endswith("…") and long_zh.startswith(zh[:-1]) and len(zh) <= 15  # wide characters take more room
    assert f"<title>{long_en}</title>" in svg and f"<title>{long_zh}</title>" in svg


def test_labels_are_escaped():
    svg = str(bar_chart([("<script>alert(1)</script>", 1)], title="<b>x</b>"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "<b>" not in svg
