"""The text map's pure parts: where each character sits, how it is drawn (escaped, whitespace visible),
the selection painted behind, and the character offsets read back from a selection event."""

import numpy as np

from playground.views.inspect import text_map


def drawn(figure) -> dict[int, tuple[str, int, int]]:
    """{offset: (glyph, column, row)} over both traces (ink and whitespace)."""
    return {int(p): (g, int(x), int(y)) for trace in figure.data
            for p, g, x, y in zip(trace.customdata, trace.text, trace.x, trace.y)}


def test_lines_end_at_newlines_and_long_lines_wrap():
    text = "ab\ncd" + "x" * 7
    cells = text_map.grid(text, 0, len(text), wrap=5)
    assert list(zip(cells.columns, cells.rows)) == [(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1), (3, 1), (4, 1),
                                                   (0, 2), (1, 2), (2, 2), (3, 2)]
    assert (cells.width, cells.height) == (5, 3)
    window = text_map.grid(text, 3, 6)  # a window starts at its own first column
    assert window.positions == (3, 4, 5) and window.columns == (0, 1, 2)


def test_glyphs_are_escaped_and_whitespace_is_drawn_faint():
    text = '<b>&"\n\t \x07'
    figure = text_map.text_map_figure(text, 0, len(text), np.zeros(len(text)))
    glyphs = drawn(figure)
    assert [glyphs[i][0] for i in range(len(text))] == ["&lt;", "b", "&gt;", "&amp;", '"', "↵", "→", "·", "\ufffd"]
    ink, blank = figure.data
    assert set(blank.text) == {"↵", "→", "·"} and blank.textfont.color == text_map.FAINT
    assert ink.textfont.color == text_map.INK and "<" not in "".join(ink.text)


def test_the_figure_is_sized_so_glyphs_never_overlap_and_is_capped():
    text = "word " * 1000
    figure = text_map.text_map_figure(text, 100, len(text), np.zeros(len(text)))
    assert len(drawn(figure)) == text_map.MAX_MAP_CHARS and min(drawn(figure)) == 100
    layout = figure.layout
    assert text_map.CELL_WIDTH >= 0.6 * text_map.FONT_SIZE + 2  # a monospace glyph is ~0.6 em wide
    assert layout.width == text_map.WRAP * text_map.CELL_WIDTH + 2 * text_map.MARGIN
    assert layout.height == (text_map.MAX_MAP_CHARS // text_map.WRAP) * text_map.ROW_HEIGHT + text_map.MARGIN + text_map.TOOLBAR
    assert layout.dragmode == "select" and layout.xaxis.fixedrange and layout.yaxis.fixedrange


def test_the_selection_is_painted_as_one_box_per_run_on_each_row():
    text = "abcd\nefgh"
    selected = np.zeros(len(text))
    selected[[1, 2, 3, 4, 5, 8]] = 1  # "bcd", the newline, "e" on the next row, and "h"
    figure = text_map.text_map_figure(text, 0, len(text), selected)
    boxes = [(s.x0, s.x1, s.y0, s.y1) for s in figure.layout.shapes]
    assert boxes == [(0.5, 4.5, -0.5, 0.5), (-0.5, 0.5, 0.5, 1.5), (2.5, 3.5, 0.5, 1.5)]
    assert all(s.layer == "below" for s in figure.layout.shapes)


def test_a_selection_event_gives_the_character_offsets():
    points = [{"curve_number": 0, "point_index": 3, "customdata": 103},
              {"curve_number": 1, "point_index": 0, "customdata": [107]},
              {"curve_number": 0, "point_index": 9}, {"customdata": True}, {"customdata": -1}]
    assert text_map.positions_from_points(points) == [103, 107]
