"""Bounds on what Gradio's image editor lets a visitor make this server hold or decode.

The stock editor keeps the blobs a page uploads (`accept_blobs`) in one dict for
every session, under any id and at any layer index the request names, until an
event reads them; and it decodes every layer, background and composite itself,
outside the app's decode pool. Sent from a script, a layer index of 10^9 is a
list of a billion entries, and never-collected blobs are memory without limit.

The page never needs more than the working copy (components/media/working_copy.py),
so the editor here is Gradio's own component (a subclass is drawn by nothing on
the page: its frontend is looked up by class), with its two server-side entry
points replaced on the instance. A prop update to the editor would give that
session a fresh stock instance (Gradio rebuilds a component from its constructor
arguments), so this app never sends the editor one: values only.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import gradio as gr
from gradio.components.image_editor import EditorDataBlobs
from gradio.data_classes import FileData

from components.media.decoding import InputError, open_bounded
from components.media.working_copy import WORKING_SIDE
from components.ui import copy

# The page paints on a working copy of at most WORKING_SIDE px a side: room to spare, far from a bomb.
EDITOR_MAX_PIXELS = (4 * WORKING_SIDE) ** 2
# One blob: a working-copy-sized PNG is well under a megabyte; a full 2560 px RGBA one stays under this.
EDITOR_MAX_BLOB_BYTES = 16 * 1024 * 1024
# Blobs wait here between the page's upload and the event that reads them (a second or so for a visitor).
EDITOR_MAX_PENDING = 64
EDITOR_MAX_HELD_BYTES = 128 * 1024 * 1024
# The editor is built with layers=False: the page paints on one layer; a few spare for Gradio's own use.
EDITOR_MAX_LAYERS = 4


def blob_bytes(blobs: EditorDataBlobs) -> int:
    parts = [blobs.background, blobs.composite, *(blobs.layers or [])]
    return sum(len(part) for part in parts if isinstance(part, (bytes, bytearray)))


class HeldBlobs(OrderedDict):
    """The editor's pending blobs, oldest dropped first past a count and a byte total."""

    def __setitem__(self, key: str, value: EditorDataBlobs) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > 1 and (len(self) > EDITOR_MAX_PENDING or self.held() > EDITOR_MAX_HELD_BYTES):
            self.popitem(last=False)

    def held(self) -> int:
        return sum(blob_bytes(blobs) for blobs in self.values())


def layer_index_allowed(index: Any) -> bool:
    if index in (None, "", "null"):
        return True
    return str(index).isdigit() and int(index) < EDITOR_MAX_LAYERS


def bound_editor(editor: gr.ImageEditor) -> gr.ImageEditor:
    """The same editor, refusing what the page never sends: huge blobs, far layer indexes, huge images."""
    stock_accept = editor.accept_blobs
    stock_convert = editor.convert_and_format_image
    editor.blob_storage = HeldBlobs()

    def accept_blobs(data: Any) -> None:
        files = data.files
        if not files or len(files[0][1]) > EDITOR_MAX_BLOB_BYTES:
            raise gr.Error(copy.EDITOR_BLOB_TOO_LARGE, print_exception=False)
        if not layer_index_allowed(data.data.get("index")):
            raise gr.Error(copy.EDITOR_TOO_MANY_LAYERS, print_exception=False)
        stock_accept(data)

    accept_blobs._is_server_fn = True  # what Gradio's component_server route checks before calling it

    def convert_and_format_image(file: FileData | None | bytes, flatten_on_white: bool = False) -> Any:
        if file is None:
            return None
        source = file.path if isinstance(file, FileData) else bytes(file)
        try:
            with open_bounded(source, copy.EDITOR_IMAGE_NAME) as opened:
                if opened.width * opened.height > EDITOR_MAX_PIXELS:
                    raise InputError(copy.EDITOR_IMAGE_TOO_LARGE.format(
                        size=f"{opened.width}×{opened.height}", side=4 * WORKING_SIDE))
                return stock_convert(file, flatten_on_white)
        except InputError as exc:
            raise gr.Error(str(exc), title=copy.EDITOR_REFUSED_TITLE, print_exception=False) from None

    editor.accept_blobs = accept_blobs
    editor.convert_and_format_image = convert_and_format_image
    return editor
