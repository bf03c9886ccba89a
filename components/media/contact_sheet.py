"""A contact sheet: many results on one labelled PNG, to paste into a chat or a slide.

Cells sit in a grid, each picture scaled to fit a square whole (never cropped:
a crop would hide what an edit changed), its caption underneath. A grid's row
labels run down the left and its column labels along the top. The sheet is
bounded: cells shrink so that it never exceeds MAX_SHEET_SIDE a side, however
many runs it holds.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from PIL import Image, ImageDraw, ImageFont

from components.media.compare import open_for_display

MAX_SHEET_SIDE = 4096
CELL_SIDE = 360       # a picture's square, when the sheet has room for it
MIN_CELL_SIDE = 96
MARGIN = 16
GAP = 12
LINE_HEIGHT_SHARE = 0.055   # a caption line's height, as a share of the cell's side
MAX_CAPTION_LINES = 3
MAX_ROW_LABEL_WIDTH = 240
TITLE_HEIGHT = 40
SUBTITLE_HEIGHT = 24
COLUMN_LABEL_HEIGHT = 28
BACKGROUND = (255, 255, 255)
CELL_BACKGROUND = (236, 238, 242)
BORDER = (200, 204, 212)
INK = (28, 28, 32)
FAINT_INK = (96, 100, 110)
ELLIPSIS = "…"


@dataclass(frozen=True)
class SheetCell:
    """One cell: its picture (None when there is none), and the lines of its caption."""

    image: Path | None
    lines: tuple[str, ...]
    placeholder: str = ""     # said in the picture's place when there is none


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: its fixed bitmap font
        return ImageFont.load_default()


def text_width(draw: ImageDraw.ImageDraw, text: str, face: ImageFont.ImageFont) -> int:
    left, _, right, _ = draw.textbbox((0, 0), text, font=face)
    return right - left


def fit(draw: ImageDraw.ImageDraw, text: str, face: ImageFont.ImageFont, width: int) -> str:
    """`text` on one line no wider than `width`, cut with an ellipsis if it must be."""
    text = " ".join(text.split())  # a caption is one line: no newlines or runs of spaces
    if text_width(draw, text, face) <= width:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with its ellipsis
        middle = (low + high + 1) // 2
        if text_width(draw, text[:middle].rstrip() + ELLIPSIS, face) <= width:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + ELLIPSIS if low else ""


def cell_width(columns: int, rows: int, label_width: int, header: int, caption_lines: int) -> int:
    """The widest cell, up to CELL_SIDE, for which the whole sheet stays within MAX_SHEET_SIDE a side
    (taking each picture as tall as it is wide: the most it may be)."""
    across = (MAX_SHEET_SIDE - 2 * MARGIN - label_width - (columns - 1) * GAP) / columns
    # Each row is the picture, its caption lines and a gap.
    down = (MAX_SHEET_SIDE - 2 * MARGIN - header - rows * GAP) / (rows * (1 + caption_lines * LINE_HEIGHT_SHARE * 1.3))
    return max(MIN_CELL_SIDE, min(CELL_SIDE, int(across), int(down)))


def thumbnail(cell: SheetCell, side: int) -> Image.Image | None:
    """The cell's picture within a `side` square, whole; None when it has none or it cannot be read."""
    if cell.image is None:
        return None
    try:
        shown = open_for_display(cell.image, side)
    except (OSError, ValueError):
        return None
    shown.thumbnail((side, side), Image.Resampling.LANCZOS)
    return shown.convert("RGBA")


def framed(shown: Image.Image | None, placeholder: str, size: tuple[int, int],
           face: ImageFont.ImageFont) -> Image.Image:
    """A cell's picture area: its picture centred (letterboxed), or its placeholder, in a thin frame."""
    width, height = size
    area = Image.new("RGB", size, CELL_BACKGROUND)
    draw = ImageDraw.Draw(area)
    if shown is not None:
        area.paste(shown, ((width - shown.width) // 2, (height - shown.height) // 2), shown)
    else:
        draw.text((width // 2, height // 2), fit(draw, placeholder, face, width - 8), fill=FAINT_INK, font=face,
                  anchor="mm")
    draw.rectangle((0, 0, width - 1, height - 1), outline=BORDER)
    return area


def contact_sheet(title: str, subtitle: str, cells: Sequence[SheetCell | None], columns: int,
                  row_labels: Sequence[str] = (), column_labels: Sequence[str] = ()) -> Image.Image:
    """The sheet: a title and subtitle, then `cells` row by row, `columns` to a row (None leaves a cell empty).

    With labels, `row_labels` name the rows down the left and `column_labels` the columns along the top.
    Every picture area is as wide as the cells and as tall as the tallest picture needs (a row of
    landscape results is not padded into squares).
    """
    columns = max(1, columns)
    rows = max(1, math.ceil(len(cells) / columns))
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_face, title_face, subtitle_face = font(18), font(28), font(16)
    label_width = min(MAX_ROW_LABEL_WIDTH, max((text_width(probe, " ".join(label.split()), label_face)
                                                for label in row_labels), default=0))
    label_width += GAP if label_width else 0
    header = TITLE_HEIGHT + SUBTITLE_HEIGHT + GAP + (COLUMN_LABEL_HEIGHT if column_labels else 0)
    caption_lines = min(MAX_CAPTION_LINES, max((len(c.lines) for c in cells if c), default=1))
    side = cell_width(columns, rows, label_width, header, caption_lines)
    shown = [thumbnail(cell, side) if cell is not None else None for cell in cells]
    picture_height = max((image.height for image in shown if image is not None), default=side // 2)
    picture_height = max(picture_height, side // 2)   # room for a placeholder's words
    line = max(12, round(side * LINE_HEIGHT_SHARE * 1.3))
    caption_face = font(max(10, round(side * LINE_HEIGHT_SHARE)))
    row_height = picture_height + caption_lines * line + GAP
    width = 2 * MARGIN + label_width + columns * side + (columns - 1) * GAP
    height = 2 * MARGIN + header + rows * row_height
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    usable = width - 2 * MARGIN
    draw.text((MARGIN, MARGIN), fit(draw, title, title_face, usable), fill=INK, font=title_face)
    draw.text((MARGIN, MARGIN + TITLE_HEIGHT), fit(draw, subtitle, subtitle_face, usable), fill=FAINT_INK,
              font=subtitle_face)
    top = MARGIN + header
    left = MARGIN + label_width
    for index, label in enumerate(column_labels[:columns]):
        x = left + index * (side + GAP) + side // 2
        draw.text((x, top - GAP), fit(draw, label, label_face, side), fill=INK, font=label_face, anchor="md")
    for index, label in enumerate(row_labels[:rows]):
        y = top + index * row_height + picture_height // 2
        draw.text((MARGIN, y), fit(draw, label, label_face, label_width - GAP), fill=INK, font=label_face,
                  anchor="lm")
    for index, (cell, image) in enumerate(zip(cells, shown)):
        if cell is None:
            continue
        row, column = divmod(index, columns)
        x, y = left + column * (side + GAP), top + row * row_height
        sheet.paste(framed(image, cell.placeholder, (side, picture_height), caption_face), (x, y))
        for number, text in enumerate(cell.lines[:caption_lines]):
            colour = INK if number == 0 else FAINT_INK
            draw.text((x, y + picture_height + 4 + number * line), fit(draw, text, caption_face, side), fill=colour,
                      font=caption_face)
    return sheet


def contact_sheet_png(title: str, subtitle: str, cells: Sequence[SheetCell | None], columns: int,
                      row_labels: Sequence[str] = (), column_labels: Sequence[str] = ()) -> bytes:
    """`contact_sheet`, encoded as PNG (lossless: the captions stay crisp)."""
    buffer = io.BytesIO()
    contact_sheet(title, subtitle, cells, columns, row_labels, column_labels).save(buffer, format="PNG")
    return buffer.getvalue()
