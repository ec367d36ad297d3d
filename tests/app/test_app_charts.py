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


def test_a_multi_line_chart_draws_one_line_per_series_with_an_escaped_legend():
    from app.charts import multi_line_chart

    svg = str(multi_line_chart(["2026-01", "2026-02", "2026-03"], [("Screened", [10, 20, 5]), ("<Held>", [0, 2, 1])],
                               title="Per month"))
    lines = re.findall(r'<polyline[^>]*points="([^"]+)"', svg)
    assert len(lines) == 2 and all(len(points.split()) == 3 for points in lines)
    assert 'stroke-dasharray="6 3"' in svg          # the second line differs by more than its colour
    assert "&lt;Held&gt;" in svg and "<Held>" not in svg
    assert ">2026-01<" in svg and ">2026-03<" in svg and ">20<" in svg   # first and last months, the top value


def test_summary_charts_are_escaped_and_leave_the_numbers_to_the_text():
    from app.charts import balance_bar, share_bar, sparkline

    line = str(sparkline([0, 3, 5], title="<Comments>", description="a & b"))
    assert 'role="img"' in line and "&lt;Comments&gt;" in line and "a &amp; b" in line and "<polyline" in line
    # the small bars sit beside their numbers, so screen readers skip them
    for bar in (str(share_bar(0.57)), str(balance_bar(246, 113)), str(balance_bar(0, 0))):
        assert 'aria-hidden="true"' in bar and "<title>" not in bar
    assert 'width="57.0"' in str(share_bar(0.57))
    assert 'width="68.5"' in str(balance_bar(246, 113))  # 246 of 359 votes agree: 68.5 of 100 px


def test_the_opinion_map_names_each_group_where_it_is():
    from app.charts import scatter_map

    points = [(0.0, 0.0, 0), (0.1, 0.1, 0), (5.0, 5.0, 1), (5.1, 4.9, 1)]
    svg = str(scatter_map(points, title="Map", group_names=["<G1>", "G2"], label_groups=True))
    assert svg.count("&lt;G1&gt;") == 2 and svg.count(">G2<") == 2  # on the map and in the legend
    assert "<G1>" not in svg
    plain = str(scatter_map(points, title="Map", group_names=["G1", "G2"]))
    assert plain.count(">G1<") == 1  # legend only
