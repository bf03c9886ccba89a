"""`/edit` for programs: images and mask as files, the options by their schema names, and the model.

The API page (`/?view=api`) documents it from what Gradio reads here: the description
given to the listener (plain text), each input's label and note, and each input's
example, from which Gradio writes the page's ready-to-run gradio_client snippet. The
inputs only `/edit` has carry an example that snippet can really send: a prompt, and
a photo at a public URL (the one Gradio's own Image component documents itself with).
The options and the model are the form's widgets, so their defaults are the form's.
"""

from __future__ import annotations

import secrets
from typing import Any, AsyncIterator

import gradio as gr
from gradio_client import handle_file

from components.app.refusals import Refusal
from components.app.runs import Run, RunUpdate
from components.app.service import EditService
from components.media.composite import MAX_FEATHER
from components.media.images import EditRequest, check_request, keep_outside_from
from components.ui import copy
from components.ui.errors import as_gr_error, in_thread
from components.ui.form import IMAGE_PARAMS, Form, client_address, file_paths, option_values, visitor_key_from
from components.ui.serving import servable


EXAMPLE_PHOTO = "https://raw.githubusercontent.com/gradio-app/gradio/main/test/test_files/bus.png"


class ApiTextbox(gr.Textbox):
    """A Textbox only `/edit` reads, with its own example and note on the API page; drawn as a stock Textbox."""

    is_template = True
    api_example: Any = None
    api_note: str = ""

    def example_payload(self) -> Any:
        return self.api_example

    def api_info_as_input(self) -> dict[str, Any]:
        return {**super().api_info_as_input(), "additional_description": self.api_note}


class ApiFile(gr.File):
    """A File only `/edit` reads, with its own example and note on the API page; drawn as a stock File."""

    is_template = True
    api_example: Any = None
    api_note: str = ""

    def example_payload(self) -> Any:
        return self.api_example

    def api_info_as_input(self) -> dict[str, Any]:
        return {**super().api_info_as_input(), "additional_description": self.api_note}


def documented(component: ApiTextbox | ApiFile, example: Any, note: str) -> Any:
    """`component` with its API-page example and note (set after construction: Gradio builds a component's
    page config from its class's constructor, which these keep as the stock component's)."""
    component.api_example, component.api_note = example, note
    return component


def status_record(update: RunUpdate, run: Run) -> dict[str, Any]:
    """The `/edit` endpoint's status object."""
    result = update.result
    return {
        "status": update.status.value,
        "request_id": update.request_id or run.record.request_id,
        "elapsed": round(update.elapsed, 3),
        "polls": update.polls,
        "inference_time": result.metrics.inference_time if result else None,
        "queue_time": result.metrics.queue_time if result else None,
        "server_total_time": result.metrics.total_time if result else None,
        "cost": result.metrics.cost if result else None,
        "remaining_credits": result.metrics.remaining_credits if result else None,
        "width": result.width if result else None,
        "height": result.height if result else None,
        "media_type": result.media_type if result else None,
        "backend": run.record.backend or None,
        "run_id": run.run_id,
        "notes": list(run.record.notes),
        "error": update.error,
        # The image returned is the result laid over the photo through the mask when this is true.
        "kept_outside_mask": bool(result and run.composite_path),
        "feather": run.record.keep_outside_feather,
        "composite_note": run.record.composite_note if result else None,
    }


def api_request(values: dict[str, Any]) -> EditRequest:
    return EditRequest(values["prompt"] or "", file_paths(values["images"]),
                       (file_paths(values["mask"]) or [None])[0], option_values(values), model=values.get("model"),
                       keep_outside=keep_outside_from(values.get("keep_outside_mask"), values.get("feather")))


class EditEndpoint:
    def __init__(self, service: EditService, input_names: list[str]) -> None:
        self.service = service
        self.input_names = input_names

    def validate(self, request: gr.Request, prompt: str, images: Any, mask: Any = None,
                 **options: Any) -> list[dict]:
        try:  # a flood is refused at its share when it joins the queue, before its images cost a decode
            self.service.check_capacity("", address=client_address(self.service, request))
        except Refusal as exc:  # a program sees it as its other refusals (a ValidationError), not a bare 400
            message = copy.error_message(exc)
            return [gr.validate(name != "images", message if name == "images" else "") for name in self.input_names]
        values = {"prompt": prompt, "images": images, "mask": mask, **options}
        messages: dict[str, list[str]] = {}
        for issue in check_request(api_request(values))[1]:
            target = "images" if issue.param in IMAGE_PARAMS - {"mask"} else issue.param
            messages.setdefault(target, []).append(issue.message)
        return [gr.validate(name not in messages, "; ".join(messages.get(name, []))) for name in self.input_names]

    async def edit(self, request: gr.Request, prompt: str, images: Any, mask: Any = None,
                   **options: Any) -> AsyncIterator[tuple[str | None, dict]]:
        """One edit for a program: streams (None, status) while the job runs, then (image_file, status).

        With `keep_outside_mask`, the image returned is the result laid over the first image through
        the mask (its edge blurred by `feather` pixels of that image): outside the mask, the first
        image's own pixels. `status["kept_outside_mask"]` says whether it was; `composite_note`, why not.

        `mask` has a default (None) in this signature so that programs may leave it out: Gradio
        marks a parameter optional only when the function says so. The API page's description is
        `copy.edit_api_description`, not this docstring.
        """
        values = {"prompt": prompt, "images": images, "mask": mask, **options}
        # Program runs are kept on disk too, under an owner nobody holds: no browser can list them.
        # Deployer limits count per Gradio session, as a browser's do.
        run = await in_thread(self.service.start_edit, api_request(values), owner=f"api-{secrets.token_hex(16)}",
                              visitor_key=visitor_key_from(request, None), quota_session=f"api:{request.session_hash}",
                              address=client_address(self.service, request))
        try:
            async for update in run.subscribe():
                image = run.shown_path
                yield (servable(image) if update.result is not None else None), status_record(update, run)
        except Exception as exc:  # noqa: BLE001 - every failure reaches the program as a gr.Error
            raise as_gr_error(exc) from None
        finally:
            # A program that cancels its call means stop: unlike a closed browser tab, nobody comes back.
            if not run.done:
                run.stop()


def add_edit_endpoint(form: Form, service: EditService, concurrency: dict[str, Any]) -> None:
    with gr.Column(visible=False):
        prompt = documented(ApiTextbox(label="prompt"), copy.EDIT_API_EXAMPLE_PROMPT, copy.EDIT_API_PROMPT_NOTE)
        images = documented(ApiFile(file_count="multiple", label="images"), [handle_file(EXAMPLE_PHOTO)],
                            copy.edit_api_images_note())
        mask = documented(ApiFile(label="mask"), None, copy.edit_api_mask_note())
        keep_outside = gr.Checkbox(False, label="keep_outside_mask")
        feather = gr.Slider(0, MAX_FEATHER, value=0, step=1, label="feather")
        result = gr.File(label="image_file")
        status = gr.JSON(label="status")
        trigger = gr.Button("edit")
    # The model, then keeping the original outside the mask, last: programs that name the options by position
    # keep working; the model defaults to the deployer's, keep_outside_mask to off and feather to 0 pixels.
    inputs = {"prompt": prompt, "images": images, "mask": mask, **form.widgets, "model": form.model,
              "keep_outside_mask": keep_outside, "feather": feather}
    endpoint = EditEndpoint(service, list(inputs))
    trigger.click(endpoint.edit, inputs_kwargs=inputs, outputs=[result, status], api_name="edit",
                  api_description=copy.edit_api_description(service.backend), validator=endpoint.validate,
                  **concurrency)
