"""Beside the editor: keep the original outside the mask (and its feather), and tools that change the paint.

Each tool reads the editor's paint layer, changes it with a media-layer function
(components/media/mask.py) and gives the editor a new value whose paint layer is
the result, on the same working copy, so the brush can go on from there. The mask
preview and its line follow in the same answer. Amounts are in the photo's pixels,
as the feather is; the paint lies on the lighter working copy, so they are rounded
to its pixels.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Callable

import gradio as gr
from PIL import Image

from components.app.service import EditService
from components.media.composite import MAX_FEATHER
from components.media.decoding import InputError, open_bounded
from components.media.images import painted_on
from components.media.mask import grow_area, invert_area, paint_layer, paint_layer_from_mask, painted_area, \
    shrink_area
from components.media.working_copy import shown_size, to_working
from components.ui import copy
from components.ui.form import Form, file_paths, valid_owner
from components.ui.history_tab import caption
from components.ui.serving import fresh_path

# The most a mask grows or shrinks at one click, in pixels of the photo (~6% of a 12 MP photo's width).
MAX_MASK_STEP = 256
MASK_STEP = 16
MAX_EARLIER_MASKS = 50
COLUMN_MIN_WIDTH = 220


class MaskTool(enum.Enum):
    INVERT = "invert"
    GROW = "grow"
    SHRINK = "shrink"
    CLEAR = "clear"


@dataclass
class MaskTools:
    keep_outside: gr.Checkbox
    feather: gr.Slider
    buttons: dict[MaskTool, gr.Button]
    step: gr.Slider
    earlier: gr.Dropdown

    @property
    def run_inputs(self) -> dict[str, gr.components.Component]:
        """What a run (and the preview) reads of these widgets, by the names `/edit` uses too."""
        return {"keep_outside_mask": self.keep_outside, "feather": self.feather}


def build_mask_tools() -> MaskTools:
    """The toggle and its feather, then the tools in an accordion (closed: on a phone, Run stays near)."""
    # Columns wide enough that on a phone the two stack instead of squeezing side by side.
    with gr.Row(elem_id="keep-outside-row"):
        with gr.Column(min_width=COLUMN_MIN_WIDTH):
            keep_outside = gr.Checkbox(False, label=copy.KEEP_OUTSIDE_LABEL, info=copy.KEEP_OUTSIDE_INFO,
                                       elem_id="keep-outside")
        with gr.Column(min_width=COLUMN_MIN_WIDTH):
            feather = gr.Slider(0, MAX_FEATHER, value=0, step=1, label=copy.FEATHER_LABEL, info=copy.FEATHER_INFO,
                                interactive=False, elem_id="feather")
    with gr.Accordion(copy.MASK_TOOLS, open=False, elem_id="mask-tools"):
        with gr.Row():  # four small buttons: two by two on a phone
            buttons = {tool: gr.Button(label, size="sm", min_width=80, elem_id=f"mask-{tool.value}") for tool, label in (
                (MaskTool.INVERT, copy.INVERT), (MaskTool.GROW, copy.GROW), (MaskTool.SHRINK, copy.SHRINK),
                (MaskTool.CLEAR, copy.CLEAR_MASK))}
        with gr.Row():
            with gr.Column(min_width=COLUMN_MIN_WIDTH):
                step = gr.Slider(1, MAX_MASK_STEP, value=MASK_STEP, step=1, label=copy.MASK_STEP_LABEL,
                                 info=copy.MASK_STEP_INFO, elem_id="mask-step")
            with gr.Column(min_width=COLUMN_MIN_WIDTH):
                earlier = gr.Dropdown(choices=[], value=None, label=copy.EARLIER_MASK_LABEL,
                                      info=copy.EARLIER_MASK_INFO, elem_id="mask-from-run")
    return MaskTools(keep_outside, feather, buttons, step, earlier)


def changed_area(tool: MaskTool, area: Image.Image | None, size: tuple[int, int], steps: int) -> Image.Image | None:
    """The painted area after `tool` (None: nothing painted), on a working copy of `size`."""
    if tool is MaskTool.CLEAR:
        return None
    if area is None:
        area = Image.new("L", size, 0)
    changed = {MaskTool.INVERT: lambda: invert_area(area), MaskTool.GROW: lambda: grow_area(area, steps),
               MaskTool.SHRINK: lambda: shrink_area(area, steps)}[tool]()
    return changed if changed.getextrema()[1] else None


class MaskToolHandlers:
    """`inspect` gives the image count, mask preview and mask line for the form's values (the Edit tab's)."""

    def __init__(self, service: EditService, inspect: Callable[[dict[str, Any]], tuple[Any, ...]]) -> None:
        self.service = service
        self.history = service.history
        self.inspect = inspect

    def invert(self, working: str | None, step: float, **values: Any) -> tuple[Any, ...]:
        return self.apply(MaskTool.INVERT, working, step, **values)

    def grow(self, working: str | None, step: float, **values: Any) -> tuple[Any, ...]:
        return self.apply(MaskTool.GROW, working, step, **values)

    def shrink(self, working: str | None, step: float, **values: Any) -> tuple[Any, ...]:
        return self.apply(MaskTool.SHRINK, working, step, **values)

    def clear(self, working: str | None, step: float, **values: Any) -> tuple[Any, ...]:
        return self.apply(MaskTool.CLEAR, working, step, **values)

    def apply(self, tool: MaskTool, working: str | None, step: float, **values: Any) -> tuple[Any, ...]:
        """The editor with its paint changed by `tool`, and the preview and mask line that follow."""
        if not working:
            gr.Warning(copy.NEEDS_PHOTO, title=copy.MASK_TOOLS)
            return (gr.skip(),) * 4
        if file_paths(values.get("mask_file")):
            gr.Warning(copy.MASK_FILE_WINS, title=copy.MASK_TOOLS)
        area = painted_area(values.get("editor"))
        size = area.size if area is not None else working_size(working)
        photos = file_paths(values.get("photo"))
        original = shown_size(photos[0]) if photos else size
        steps = max(1, round(to_working(step or 1, original, size)))
        return self.with_area(working, changed_area(tool, area, size, steps), values)

    def with_area(self, working: str, area: Image.Image | None, values: dict[str, Any]) -> tuple[Any, ...]:
        layer = paint_layer(area) if area is not None else None
        layers: list[str] = []
        if layer is not None:
            path = fresh_path("mask-paint.png")
            layer.save(path)
            layers = [str(path)]
        editor = {"background": working, "layers": layers, "composite": None}
        shown = {**values, "editor": {"background": None, "layers": [layer] if layer else [], "composite": None}}
        return (editor, *self.inspect(shown))

    def earlier_choices(self, owner_token: object, profile: gr.OAuthProfile | None = None) -> Any:
        """This browser's (or the signed-in account's) runs that kept a mask, newest first."""
        records = [r for r in self.history.records(valid_owner(self.service, owner_token, profile))
                   if self.history.path(r, r.mask)]
        choices = [(caption(r), r.run_id) for r in records[:MAX_EARLIER_MASKS]]
        return gr.update(choices=choices, value=None, info=copy.EARLIER_MASK_INFO if choices else
                         copy.NO_EARLIER_MASKS)

    def load_earlier(self, owner_token: object, run_id: str | None, working: str | None,
                     profile: gr.OAuthProfile | None = None, **values: Any) -> tuple[Any, ...]:
        """An earlier run's mask, as paint on this photo's working copy (the photo must be of its shape)."""
        owner_id = valid_owner(self.service, owner_token, profile)
        if not run_id:
            return (gr.skip(),) * 5
        if not working:
            gr.Warning(copy.NEEDS_PHOTO, title=copy.MASK_TOOLS)
            return (None, *(gr.skip(),) * 4)
        record = self.history.owned(run_id, owner_id)
        mask = self.history.path(record, record.mask) if record is not None else None
        if mask is None:
            gr.Warning(copy.EARLIER_MASK_GONE, title=copy.MASK_TOOLS)
            return (None, *(gr.skip(),) * 4)
        size = working_size(working)
        try:
            with open_bounded(mask, "that run's mask") as opened:
                mask_size = opened.size
            if not painted_on(mask_size, size):
                photos = file_paths(values.get("photo"))
                photo = shown_size(photos[0]) if photos else size
                gr.Warning(copy.EARLIER_MASK_SHAPE.format(mask=f"{mask_size[0]}×{mask_size[1]}",
                                                          photo=f"{photo[0]}×{photo[1]}"), title=copy.MASK_TOOLS)
                return (None, *(gr.skip(),) * 4)
            layer = paint_layer_from_mask(str(mask), size)
        except InputError as exc:
            gr.Warning(str(exc), title=copy.MASK_TOOLS)
            return (None, *(gr.skip(),) * 4)
        area = layer.getchannel("A")
        return (None, *self.with_area(working, area if area.getextrema()[1] else None, values))


def wire_mask_tools(tools: MaskTools, handlers: MaskToolHandlers, form: Form, working: gr.Image,
                    inspected: list[gr.components.Component], owner: gr.BrowserState) -> None:
    """The toggle, its feather and the tools. `working` shows the working copy; `inspected` are the image
    count, mask preview and mask line. The tools are queued: a tool's refusal is a toast."""
    private = {"api_visibility": "private", "show_progress": "hidden"}
    tools.keep_outside.change(lambda keep: gr.update(interactive=bool(keep)), tools.keep_outside, tools.feather,
                              queue=False, **private)
    values = {**form.image_kwargs, **tools.run_inputs}
    methods = {MaskTool.INVERT: handlers.invert, MaskTool.GROW: handlers.grow, MaskTool.SHRINK: handlers.shrink,
               MaskTool.CLEAR: handlers.clear}
    for tool, button in tools.buttons.items():
        button.click(methods[tool], inputs=[working, tools.step], inputs_kwargs=values,
                     outputs=[form.editor, *inspected], **private)
    tools.earlier.focus(handlers.earlier_choices, owner, tools.earlier, queue=False, **private)
    tools.earlier.input(handlers.load_earlier, inputs=[owner, tools.earlier, working], inputs_kwargs=values,
                        outputs=[tools.earlier, form.editor, *inspected], **private)


def working_size(working: str) -> tuple[int, int]:
    """The working copy's pixel size (its header only)."""
    with open_bounded(working, "the photo's working copy") as opened:
        return opened.size
