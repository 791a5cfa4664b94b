"""The text map: the inspected text as characters on a grid, to select with the mouse (pure: no Streamlit).

Each character is one point of a plotly scatter in text mode, at (column, line), so a box or a
lasso drawn over it selects characters: Streamlit returns the selected points (and their
customdata, the character's offset in the whole text). Whitespace is drawn as faint marks,
since a selection over a blank would otherwise be invisible. The figure has a fixed pixel
width (one cell per column, wider than a monospace glyph), so glyphs never overlap; long lines
wrap at WRAP columns. The current selection is painted behind the glyphs as rectangles (layout
shapes: they take no part in a selection).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from playground.views.inspect.heatmaps import PLAIN_LAYOUT

MAX_MAP_CHARS = 2000  # characters drawn: the page stays fast (one SVG text node each)
WRAP = 80  # columns: wider lines continue on the next row
FONT_SIZE, CELL_WIDTH, ROW_HEIGHT = 14, 11, 20  # px: a 14 px monospace glyph is about 8.4 px wide
MARGIN, TOOLBAR = 8, 30  # px; the chart's toolbar gets a strip of its own above the text, not over it
MONOSPACE = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace"
INK, FAINT, MARK, SELECTING = "#31333f", "#b4b7c0", "#fde68a", "#c2410c"
SHOWN_WHITESPACE = {" ": "·", "\n": "↵", "\t": "→", "\r": "←"}
CONFIG = {"displaylogo": False, "scrollZoom": False,
          "modeBarButtonsToRemove": ["zoom2d", "pan2d", "zoomIn2d", "zoomOut2d", "autoScale2d", "resetScale2d",
                                     "toImage"]}


@dataclass(frozen=True)
class Grid:
    positions: tuple[int, ...]  # offsets in the whole text, one per drawn character
    columns: tuple[int, ...]
    rows: tuple[int, ...]
    width: int  # columns used
    height: int  # rows used


def glyph(ch: str) -> tuple[str, bool]:
    """How a character is drawn, and whether it is whitespace (drawn faint). Plotly reads <b>, <br>
    and entities in text, so "<", ">" and "&" go as entities; control characters become U+FFFD."""
    if ch in SHOWN_WHITESPACE:
        return SHOWN_WHITESPACE[ch], True
    if ch.isspace():
        return "·", True
    if ord(ch) < 32 or ord(ch) == 127:
        return "\ufffd", False
    return html.escape(ch, quote=False), False


def grid(text: str, start: int, end: int, wrap: int = WRAP) -> Grid:
    """Where each character of text[start:end] sits: a newline ends its row, a long row wraps."""
    positions, columns, rows = [], [], []
    column = row = 0
    for offset in range(start, end):
        if column == wrap:
            column, row = 0, row + 1
        positions.append(offset)
        columns.append(column)
        rows.append(row)
        if text[offset] == "\n":
            column, row = 0, row + 1
        else:
            column += 1
    used_rows = rows[-1] + 1 if rows else 1
    return Grid(tuple(positions), tuple(columns), tuple(rows), max(columns, default=0) + 1, used_rows)


def selected_boxes(cells: Grid, selected: Sequence[float]) -> list[dict]:
    """One rectangle per run of selected characters on a row (selected: the whole text's 0/1 track)."""
    boxes, run = [], None
    for position, column, row in zip(cells.positions, cells.columns, cells.rows):
        if selected[position]:
            if run and run["row"] == row and run["last"] == column - 1:
                run["last"] = column
            else:
                run = {"row": row, "first": column, "last": column}
                boxes.append(run)
        else:
            run = None
    return [{"type": "rect", "xref": "x", "yref": "y", "layer": "below", "line": {"width": 0}, "fillcolor": MARK,
             "x0": b["first"] - 0.5, "x1": b["last"] + 0.5, "y0": b["row"] - 0.5, "y1": b["row"] + 0.5}
            for b in boxes]


def glyph_trace(cells: Grid, glyphs: np.ndarray, keep: np.ndarray, colour: str) -> go.Scatter:
    """The characters where keep is true, in one colour. Two traces (ink and whitespace) rather than a
    colour per point: plotly's validator checks a colour list item by item (~0.3 s for 2,000)."""
    column, row, position = (np.asarray(values, dtype=np.int32)[keep]
                             for values in (cells.columns, cells.rows, cells.positions))
    return go.Scatter(  # numpy arrays: plotly takes them whole (a list is checked item by item too)
        x=column, y=row, mode="text", text=glyphs[keep], customdata=position,
        textposition="middle center", cliponaxis=False,
        textfont={"family": MONOSPACE, "size": FONT_SIZE, "color": colour},
        selected={"textfont": {"color": SELECTING}},  # while the page reruns after a drag
        hovertemplate="%{text} · character %{customdata:,}<extra></extra>", showlegend=False)


def text_map_figure(text: str, start: int, end: int, selected: Sequence[float]) -> go.Figure:
    """text[start:end] (at most MAX_MAP_CHARS of it) as a selectable grid, the selection painted behind."""
    cells = grid(text, start, min(end, start + MAX_MAP_CHARS))
    drawn = [glyph(text[p]) for p in cells.positions]
    glyphs = np.array([g for g, _ in drawn], dtype=object)
    blank = np.array([is_blank for _, is_blank in drawn], dtype=bool)
    columns = max(cells.width, 20)  # a short text still gets a usable box to drag in
    layout = {
        **PLAIN_LAYOUT, "width": columns * CELL_WIDTH + 2 * MARGIN,
        "height": cells.height * ROW_HEIGHT + MARGIN + TOOLBAR,
        "margin": {"l": MARGIN, "r": MARGIN, "t": TOOLBAR, "b": MARGIN}, "dragmode": "select", "hovermode": "closest",
        "xaxis": {"range": [-0.5, columns - 0.5], "visible": False, "fixedrange": True},
        "yaxis": {"range": [cells.height - 0.5, -0.5], "visible": False, "fixedrange": True},
        "shapes": selected_boxes(cells, selected), "plot_bgcolor": "#ffffff",
    }
    return go.Figure(data=[glyph_trace(cells, glyphs, ~blank, INK), glyph_trace(cells, glyphs, blank, FAINT)],
                     layout=layout)


def positions_from_points(points: Sequence[dict]) -> list[int]:
    """The character offsets of the selected points (their customdata), from Streamlit's selection event."""
    found = []
    for point in points:
        data = point.get("customdata")
        if isinstance(data, (list, tuple)):
            data = data[0] if data else None
        if isinstance(data, (int, float)) and not isinstance(data, bool) and data >= 0:
            found.append(int(data))
    return found
