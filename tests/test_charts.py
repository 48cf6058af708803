"""The admin charts (pygal SVG) speak French typography too: their text is not printed through Jinja."""

import re

from futurisys.admin import charts

# An ordinary space before « : ; ! ? » or after «, in any text the SVG draws or names.
LOOSE = re.compile(r"[ \t\r\n][:;!?»]|«[ \t\r\n]| %")


def drawn_text(svg) -> list[str]:
    """The text nodes and titles of a rendered chart."""
    without_styles = re.sub(r"<style\b.*?</style>", "", str(svg), flags=re.DOTALL)
    return [text for text in re.findall(r">([^<>]+)<", without_styles) if text.strip()]


def test_bars_labels_values_and_series_are_typeset():
    chart = charts.bars(["Seuil : 18\u00a0%", "« élevé »"], [12.5, 40], percent=True, series="Part ?")
    svg = charts.titled(chart, "Bandes : « risque »")
    texts = drawn_text(svg)
    assert any("Seuil\u202f:" in text for text in texts) and any("\u00a0%" in text for text in texts)
    assert [text for text in texts if LOOSE.search(text)] == []


def test_stacked_labels_and_series_are_typeset():
    labels = [f"j{day} : lot" for day in range(20)]
    svg = charts.stacked(labels, {"Départ : probable": [1] * 20, "« Reste »": [2] * 20}, ("#000", "#111"))
    texts = drawn_text(svg)
    assert any("j0\u202f:" in text for text in texts)
    assert [text for text in texts if LOOSE.search(text)] == []
