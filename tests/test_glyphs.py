"""The glyph helpers every panel draws with: sparklines and when a repaint needs a layout."""

from rich.text import Text

from widgets.glyphs import needs_layout, sparkline


def test_sparkline_has_fixed_bounds_and_marks_missing_values() -> None:
    assert sparkline([0, 50, 100, 150], 0, 100) == "▁▅██"
    assert sparkline([40, 41, 40.5], 0, 100) == "▄▄▄"  # no autoscaling of a small wobble
    assert sparkline([1e-6, None, float("nan"), 1e3], 1e-6, 1e3, log=True) == "▁··█"


def test_only_a_change_of_shape_asks_for_a_screen_layout():
    old = Text("epoch 3/25  1,234 samples/s\nRUNNING")
    assert needs_layout(None, old)
    # digits: repaint only
    assert not needs_layout(old, Text("epoch 4/25  1,302 samples/s\nRUNNING"))
    # a line more
    assert needs_layout(old, Text("epoch 4/25  1,302 samples/s\nRUNNING\nstale for 9 s"))
    assert needs_layout(old, Text("epoch 10/25  11,302 samples/s\nRUNNING"))  # wider
