"""Copy as code: the form as ready-to-run SDK, requests and curl snippets."""

from __future__ import annotations

import mimetypes
from typing import Any

import gradio as gr

from components.app.backend import Backend
from components.app.history import input_names
from components.app.snippets import ALL as SNIPPETS
from components.app.snippets import SnippetRequest
from components.media.images import check_request
from components.ui import copy
from components.ui.form import Form, UiImages, chosen_model, form_request, option_values

def local_names(values: dict[str, Any]) -> tuple[list[str], str | None]:
    """The names of the form's images and mask, exactly as a run of this form keeps them (and zips them).

    The form is checked as a run would check it, so the extensions are the ones really sent. A form
    that does not check yet gets the same numbering, with each file's own extension.
    """
    inputs, _ = check_request(form_request(values))
    if inputs is not None:
        return input_names(inputs)
    images = UiImages.read(values)

    def guessed(stem: str, source: Any) -> str:
        # As a run names them: the media type's subtype (image/jpeg → jpeg).
        kind = mimetypes.guess_type(source)[0] if isinstance(source, str) else None
        return f"{stem}.{kind.rpartition('/')[2] if kind and kind.startswith('image/') else 'img'}"

    names = [str(source) if i > len(images.images) - len(images.urls) else guessed(f"image-{i}", source)
             for i, source in enumerate(images.images, start=1)]
    mask = None if images.mask is None else "mask.png"
    return names, mask


def snippet_request(values: dict[str, Any], backend: Backend) -> SnippetRequest:
    """The form as the files and URLs a reader of the snippet has: named as in a run's zip."""
    names, mask = local_names(values)
    return SnippetRequest(values.get("prompt") or "", names, mask, option_values(values),
                          model=chosen_model(values).slug, api_base=backend.settings.api_base,
                          storage_base=backend.settings.storage_base)


def snippets_for(values: dict[str, Any], backend: Backend) -> list[str]:
    request = snippet_request(values, backend)
    return [make(request) for make in SNIPPETS.values()]


def build_code_panel(form: Form, backend: Backend) -> None:
    with gr.Accordion("Copy as code", open=False, elem_id="code-panel"):
        gr.Markdown(copy.CODE_HELP)
        show = gr.Button("Show code for this form", elem_id="show-code")
        blocks = [gr.Code(label=name, language="shell" if name == "curl" else "python", interactive=False,
                          elem_id=f"code-{index}") for index, name in enumerate(SNIPPETS)]

    def code(**values: Any) -> list[str]:
        return snippets_for(values, backend)

    show.click(code, inputs_kwargs=form.kwargs, outputs=blocks, api_name="show_code",
               api_visibility="undocumented", queue=False)
