"""Copy as code: the form as ready-to-run SDK, requests and curl snippets."""

from __future__ import annotations

import os
from typing import Any

import gradio as gr

from components.app.backend import Backend
from components.app.snippets import ALL as SNIPPETS
from components.app.snippets import SnippetRequest
from components.ui.form import Form, UiImages, option_values


def snippet_request(values: dict[str, Any], backend: Backend) -> SnippetRequest:
    """The form as files and URLs a reader of the snippet would have."""
    images = UiImages.read(values)
    names = (["image-1.png"] if images.edited is not None else []) + \
        [os.path.basename(p) for p in images.files] + images.urls
    mask = None
    if images.mask_file:
        mask = os.path.basename(images.mask_file)
    elif images.painted_mask is not None:
        mask = "mask.png"
    return SnippetRequest(values.get("prompt") or "", names, mask, option_values(values),
                          model=backend.settings.model, api_base=backend.settings.api_base,
                          storage_base=backend.settings.storage_base)


def snippets_for(values: dict[str, Any], backend: Backend) -> list[str]:
    request = snippet_request(values, backend)
    return [make(request) for make in SNIPPETS.values()]


def build_code_panel(form: Form, backend: Backend) -> None:
    with gr.Accordion("Copy as code", open=False, elem_id="code-panel"):
        gr.Markdown("Code that sends exactly this request. Your key is read from `SEGMIND_API_KEY`, never written "
                    "out. `image-1.png` is the image in the editor and `mask.png` the mask shown above "
                    "(both are in a run's zip in *History*); uploaded references keep their file names.")
        show = gr.Button("Show code for this form", elem_id="show-code")
        blocks = [gr.Code(label=name, language="shell" if name == "curl" else "python", interactive=False,
                          elem_id=f"code-{index}") for index, name in enumerate(SNIPPETS)]

    def code(**values: Any) -> list[str]:
        return snippets_for(values, backend)

    show.click(code, inputs_kwargs=form.kwargs, outputs=blocks, api_name="show_code",
               api_visibility="undocumented", queue=False)
