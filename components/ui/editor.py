"""Gradio's ImageEditor with bounds on what a visitor can make the server hold or decode.

The stock editor decodes every layer, background and composite a request
names (Pillow only warns below ~89 megapixels), and keeps uploaded blobs in a
dict that only a later event empties, at any layer index the request says.
Sent from a script, that is memory without limit. The page never needs more
than the working copy's size (components/media/working_copy.py), so this one
checks each image's header before decoding it, inside the app's decode pool,
and bounds the blobs it keeps.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import gradio as gr
from gradio.components.image_editor import AcceptBlobs, EditorDataBlobs
from gradio.data_classes import FileData

from components.media.decoding import InputError, open_bounded
from components.media.working_copy import WORKING_SIDE

# The page paints on a working copy of at most WORKING_SIDE px a side; room to spare, far from a bomb.
EDITOR_MAX_PIXELS = (4 * WORKING_SIDE) ** 2
EDITOR_MAX_BLOB_BYTES = 16 * 1024 * 1024
# Blobs wait here between the page's upload and the event that reads them.
EDITOR_MAX_PENDING = 64
EDITOR_MAX_LAYERS = 4


class BoundedImageEditor(gr.ImageEditor):
    is_template = True  # the page draws it with the stock editor

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.blob_storage: OrderedDict[str, EditorDataBlobs] = OrderedDict()

    def convert_and_format_image(self, file: FileData | None | bytes, flatten_on_white: bool = False) -> Any:
        if file is None:
            return None
        source = file.path if isinstance(file, FileData) else bytes(file)
        try:
            with open_bounded(source, "The painted image", max_pixels=EDITOR_MAX_PIXELS):
                return super().convert_and_format_image(file, flatten_on_white)
        except InputError as exc:
            raise gr.Error(str(exc), title="Not a usable painting") from None

    @gr.components.base.server
    def accept_blobs(self, data: AcceptBlobs) -> None:
        index = data.data.get("index")
        files = data.files
        if not files or len(files[0][1]) > EDITOR_MAX_BLOB_BYTES:
            raise gr.Error("That painting is too large to receive.")
        if index not in (None, "", "null") and not (str(index).isdigit() and int(index) < EDITOR_MAX_LAYERS):
            raise gr.Error("That painting has more layers than this editor has.")
        super().accept_blobs(data)
        self.blob_storage.move_to_end(data.data["id"])
        while len(self.blob_storage) > EDITOR_MAX_PENDING:
            self.blob_storage.popitem(last=False)
