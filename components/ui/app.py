"""The Gradio app: the tabs, the `/edit` endpoint, and how the whole page is launched."""

from __future__ import annotations

import json
import logging
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, Callable

import gradio as gr
from gradio.utils import get_upload_folder
from starlette.middleware import Middleware

from components.api import schema
from components.app.backend import Backend
from components.app.history import HistoryStore
from components.app.service import EditService
from components.app.settings import AppSettings
from components.ui import copy
from components.ui.account import AccountHandlers, build_account_header
from components.ui.api_endpoint import add_edit_endpoint
from components.ui.board_export import (
    BoardHandlers, build_history_board, build_sweep_board, wire_history_board, wire_sweep_board,
)
from components.ui.code_panel import build_code_panel
from components.ui.continuing import build_cell_continue, wire_cell_continue
from components.ui.edit_tab import EditHandlers, build_edit_tab, follow_the_model, wire_edit_tab
from components.ui.form import Form, ensure_owner
from components.ui.guard import RequestGuard
from components.ui.insights_panel import build_insights_panel, wire_insights_panel
from components.ui.janitor import keep_bounded
from components.ui.history_tab import (
    HistoryHandlers, build_history_tab, continue_outputs, wire_history_lineage, wire_history_tab,
)
from components.ui.mcp_tools import add_mcp_tools, only_these_tools
from components.ui.status import status_css
from components.ui.url_inputs import bound_url_inputs
from components.ui.sweep_tab import SweepHandlers, build_sweep_tab, wire_sweep_tab

log = logging.getLogger("components.ui")
UPLOAD_LIMIT = f"{schema.MAX_IMAGE_BYTES // (1024 * 1024)}mb"
# One request: every image the model takes at its largest, and the form around them.
MAX_REQUEST_BYTES = schema.MAX_IMAGES * schema.MAX_IMAGE_BYTES + 16 * 1024 * 1024
# Gradio's own clean-up of the files it registered: every 10 minutes, those older than an hour.
DELETE_CACHE = (600, 3600)
OWNER_STORAGE_KEY = "gpt-image-edit-explorer-owner"
# Every event that starts or watches runs shares one concurrency group.
JOBS_CONCURRENCY_ID = "segmind-jobs"
EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
PAGE_JS = (Path(__file__).with_name("page.js")).read_text()

CSS = f"""
#banner-emulator {{ border-left: 6px solid #f5a623; padding: 8px 14px; background: #fff8e6; }}
#banner-segmind {{ border-left: 6px solid #2e7d32; padding: 8px 14px; background: #eef7ee; }}
#status {{ min-height: 3em; }}
#opt-output_compression input:disabled {{ opacity: 0.35; }}
#mask-help p {{ margin: 0; }}
/* A gallery caption names what varies (quality, then model): Gradio cuts it to one line over the picture's
   foot, hiding the model. Here it goes under the picture, whole and wrapped, so it covers nothing at any width;
   a phone shows two columns, wide enough for a picture and a caption of three short lines. */
:is(#sweep-gallery, #history-gallery, #takes-gallery) .thumbnail-lg {{ aspect-ratio: auto; display: flex;
                                                                      flex-direction: column; }}
:is(#sweep-gallery, #history-gallery, #takes-gallery) .thumbnail-lg > img {{ aspect-ratio: 4 / 3; height: auto;
                                                                            flex: none; }}
:is(#sweep-gallery, #history-gallery, #takes-gallery) .thumbnail-lg .caption-label {{
  position: static; flex: 1; max-width: none; white-space: normal; overflow-wrap: anywhere; line-height: 1.3;
  border: 0; border-top: 1px solid var(--border-color-primary); border-radius: 0; padding: 4px 6px; }}
/* Gradio floats the gallery's label over the first row, and the padding it asks for (pt-6) has no rule: give it. */
:is(#sweep-gallery, #history-gallery, #takes-gallery) .grid-container.pt-6 {{ padding-top: var(--size-8); }}
@media (max-width: 640px) {{
  :is(#sweep-gallery, #history-gallery, #takes-gallery) .grid-container {{
    grid-template-columns: repeat(2, minmax(0, 1fr)) !important; }}
  :is(#sweep-gallery, #history-gallery, #takes-gallery) .thumbnail-lg .caption-label {{ font-size: var(--text-xs); }}
}}
/* Upload boxes: Gradio floats the label over the drop zone, where a label wrapped to two lines (a phone, or the
   mask's narrow column) covered the prompt; in the flow above it, clear of the clear/upload buttons, it covers
   nothing. The 96 px boxes show the prompt on one line (Gradio's three lines and icon need 240 px: they were cut
   to "Click to Upl…"), and a file's size column gives its name room on a phone. */
:is(#photo, #mask-file, #references) > label[data-testid="block-label"] {{
  position: static; margin: var(--block-label-margin) var(--block-label-margin) 0; width: fit-content; }}
:is(#photo, #mask-file, #references):has(.icon-button) > label[data-testid="block-label"] {{
  max-width: calc(100% - 4.5rem); }}
:is(#photo, #mask-file) [data-testid="upload-text"] {{ min-height: 0; padding: 0; flex-direction: row;
                                                       flex-wrap: wrap; justify-content: center; column-gap: 0.4em; }}
:is(#photo, #mask-file) [data-testid="upload-icon"] {{ width: 22px; margin: 0; }}
:is(#photo, #mask-file, #references) .file-preview .download {{ width: auto; min-width: 0; }}
/* The takes' table stays one line a take, even on a phone. */
#takes-status .state {{ white-space: nowrap; }}
#takes-status td, #takes-status th {{ padding: 4px 10px; }}
/* The takes' gallery is as tall as its thumbnails (small on a phone), up to its own height. */
#takes-gallery, #takes-gallery .gallery-container, #takes-gallery .grid-wrap {{ height: auto !important; }}
#takes-gallery .grid-wrap {{ max-height: 260px; }}
#editor-heading p {{ margin: 0 0 -6px 4px; }}
/* Gradio draws a dropdown's validation message over its label: give it room below instead. */
#sweep-x-name .validation-error, #sweep-y-name .validation-error {{ position: static; display: block;
                                                                     margin-top: 4px; }}
/* The grid's table keeps its pictures' size and scrolls sideways on a narrow screen. */
#sweep-grid .grid-scroll {{ overflow-x: auto; max-width: 100%; }}
#sweep-grid table.sweep-grid {{ border-collapse: collapse; width: max-content; margin: 0; }}
#sweep-grid .sweep-grid th, #sweep-grid .sweep-grid td {{ border: 1px solid var(--border-color-primary);
                                                          padding: 6px; vertical-align: top; text-align: left; }}
#sweep-grid .sweep-grid th {{ font-weight: 600; max-width: 200px; overflow-wrap: anywhere; }}
#sweep-grid .sweep-grid th[scope=row] {{ position: sticky; left: 0; z-index: 1; width: 140px; min-width: 140px;
                                         max-width: 140px; background: var(--background-fill-primary); }}
#sweep-grid .grid-cell {{ width: 212px; min-width: 212px; max-width: 212px; font-size: 0.85em; }}
#sweep-grid .grid-cell img {{ width: 200px; max-width: none; height: auto; display: block; border-radius: 4px; }}
#sweep-grid .grid-empty {{ height: 120px; display: flex; align-items: center; justify-content: center;
                           background: var(--background-fill-secondary); border-radius: 4px; }}
#sweep-grid .grid-meta {{ margin-top: 4px; }}
#sweep-grid .grid-id {{ font-family: var(--font-mono); font-size: 0.8em; overflow-wrap: anywhere; opacity: 0.8; }}
#sweep-grid .grid-error {{ color: #c62828; overflow-wrap: anywhere; }}
/* A checkbox's is drawn inside an overlay the checkbox's own height: let it take the room it needs. */
#keep-outside .wrap:has(.validation-error), #keep-outside .validation-error {{ position: static !important; }}
/* On a phone the editor is shorter, and its tool rail lies along the bottom instead of over the photo's left edge. */
@media (max-width: 640px) {{
  #editor {{ height: 400px !important; }}
  #editor .toolbar-wrap {{ flex-direction: row; top: auto !important; bottom: 6px; left: 6px !important;
                          transform: none !important; width: auto; height: auto; }}
  #editor .toolbar-wrap .half-container {{ flex-direction: row; }}
  #sweep-grid .grid-cell {{ width: 162px; min-width: 162px; max-width: 162px; }}
  #sweep-grid .grid-cell img {{ width: 150px; }}
  #sweep-grid .sweep-grid th[scope=row] {{ width: 96px; min-width: 96px; max-width: 96px; }}
}}
{status_css()}
"""


def history_for(settings: AppSettings) -> HistoryStore:
    return HistoryStore(settings.output_dir.resolve(), max_bytes=settings.output_max_bytes,
                        owner_max_bytes=settings.output_owner_max_bytes)


def build_app(backend: Backend, *, settings: AppSettings | None = None, history: HistoryStore | None = None,
              service: EditService | None = None, today: Callable[[], date] = date.today) -> gr.Blocks:
    """`today`: the clock OpenAI's shutdown dates are read against (the default model among them, when
    `settings` are read here), unless `service` brings its own."""
    settings = settings or AppSettings.from_env(today=today())
    if settings.require_login and not settings.hf_sign_in:
        log.warning("SEGMIND_REQUIRE_LOGIN is set, but visitors cannot sign in here (only a Space with hf_oauth: true "
                    "offers it): the deployer's key will pay for no run, and visitors need their own key")
    history = history or (service.history if service else history_for(settings))
    service = service or EditService(backend, history, max_runs_per_address=settings.max_runs_per_address,
                                     trusted_proxy=settings.trusted_proxy, today=today)
    # Jobs spend nearly all their time waiting on Segmind, not on this server's CPU, so many run
    # at once; Gradio's default of one running job per event would make each visitor wait for
    # the one before. The bound only protects memory.
    concurrency = {"concurrency_limit": settings.max_concurrent_jobs, "concurrency_id": JOBS_CONCURRENCY_ID}

    bound_url_inputs()  # Gradio's own fetch of a file input given as a URL: streamed, and no larger than an upload
    # What Gradio's own clean-up misses: aborted uploads, and any byte bound.
    janitor = keep_bounded(Path(get_upload_folder()).resolve())
    with gr.Blocks(title=copy.TITLE, delete_cache=DELETE_CACHE) as demo:
        account = None
        if settings.hf_sign_in:  # only where it works: see settings.py (a LoginButton makes Gradio attach OAuth)
            with gr.Row(equal_height=False, elem_id="header"):
                with gr.Column(scale=4, min_width=320):
                    gr.Markdown(copy.intro(settings.offered_models))
                with gr.Column(scale=1, min_width=260, elem_id="account"):
                    account = build_account_header()
        else:
            gr.Markdown(copy.intro(settings.offered_models))
        gr.Markdown(copy.banner(backend), elem_id=f"banner-{backend.kind.value}")
        retired_notice = gr.Markdown(visible=False, elem_id="retired-notice")
        # A random id kept (encrypted) in this browser: whose runs the History tab shows.
        owner = gr.BrowserState(None, storage_key=OWNER_STORAGE_KEY, secret=history.browser_secret())

        with gr.Tabs() as tabs:
            with gr.Tab("Edit", id="edit"):
                edit_tab = build_edit_tab(backend, settings.offered_models, service.today())
                build_code_panel(edit_tab.form, backend)
                examples = add_examples(edit_tab.form)
            with gr.Tab("Sweep", id="sweep"):
                sweep_tab = build_sweep_tab(settings.sweep_confirm_usd)
                sweep_continue = build_cell_continue()
                sweep_board = build_sweep_board()
            with gr.Tab("History", id="history"):
                history_tab = build_history_tab(copy.storage_note(settings.storage, history.root), settings.hf_sign_in)
                insights = build_insights_panel()
                history_board = build_history_board()
        footer = gr.Markdown(copy.footer(edit_tab.form.model.value, backend), elem_id="footer")

        if account is not None:
            demo.load(AccountHandlers(service, settings.require_login).open_page, owner, [owner, account.status],
                      api_visibility="private")
        else:
            demo.load(lambda token: ensure_owner(service, token).token, owner, owner, api_visibility="private")
        edit_handlers = EditHandlers(service, history, edit_tab, owner)
        wire_edit_tab(edit_tab, edit_handlers, owner, concurrency, examples)
        # A new page: the model it starts on, then the widgets fitted to it (the sliders are built wide).
        started = demo.load(edit_handlers.start_model, outputs=[edit_tab.form.model, edit_tab.model_card,
                                                                retired_notice], api_visibility="private", queue=False)
        follow_the_model(started.then, edit_tab)
        edit_tab.form.model.change(partial(copy.footer, backend=backend), edit_tab.form.model, footer, queue=False,
                                   api_visibility="private")
        wire_sweep_tab(sweep_tab, SweepHandlers(service, sweep_tab, settings.offered_models,
                                                confirm_usd=settings.sweep_confirm_usd),
                       edit_tab.form, owner, concurrency, {**edit_tab.tools.run_inputs, "parent": edit_tab.parent})
        history_handlers = HistoryHandlers(service, history)
        wire_history_tab(history_tab, history_handlers, edit_tab.form, owner, tabs, concurrency, edit_tab.input_view)
        # Continuing from a run of History or a Sweep cell: then the Edit tab says what the (cleared) mask is.
        inspect = {"fn": edit_handlers.inspect, "inputs_kwargs": {**edit_tab.form.image_kwargs,
                                                                 **edit_tab.tools.run_inputs},
                   "outputs": edit_tab.inspected, "show_progress": "hidden", "api_visibility": "private"}
        wire_history_lineage(history_tab, history_handlers, edit_tab.form, owner, tabs, edit_tab.input_view,
                             edit_tab.parent, edit_tab.status).then(**inspect)
        wire_cell_continue(sweep_continue, sweep_tab.gallery, sweep_tab.run_ids, owner,
                           history_handlers.continue_from_result,
                           continue_outputs(edit_tab.form, edit_tab.input_view, edit_tab.parent, edit_tab.status,
                                            tabs)).then(**inspect)
        wire_insights_panel(insights, service, owner, history_tab.gallery)
        board_handlers = BoardHandlers(service, history)
        wire_sweep_board(sweep_board, board_handlers, owner, sweep_tab.run_ids, sweep_tab.layout)
        wire_history_board(history_board, board_handlers, owner, history_tab)
        add_edit_endpoint(edit_tab.form, service, concurrency)
        add_mcp_tools(service, settings)

    janitor.spare_files_of(demo)  # its examples, for as long as it runs
    demo.service = service  # for tests and benchmarks that need to see live runs
    demo.history = history
    demo.queue(default_concurrency_limit=settings.max_concurrent_jobs, max_size=4 * settings.max_concurrent_jobs)
    return demo


def add_examples(form: Form) -> gr.Examples | None:
    manifest = EXAMPLES_DIR / "examples.json"
    if not manifest.exists():
        return None
    rows, labels = [], []
    for entry in json.loads(manifest.read_text()):
        background = str(EXAMPLES_DIR / entry["image"])
        references = [str(EXAMPLES_DIR / r) for r in entry.get("references", [])] or None
        mask = str(EXAMPLES_DIR / entry["mask"]) if entry.get("mask") else None
        rows.append([entry["prompt"], background, references, mask])
        labels.append(entry["label"])
    return gr.Examples(rows, [form.prompt, form.photo, form.files, form.mask_file], example_labels=labels,
                       label="Examples", cache_examples=False)


def launch_options() -> dict[str, Any]:
    """What `launch()` needs besides host and port (Gradio reads GRADIO_SERVER_NAME/PORT itself)."""
    return {
        "theme": gr.themes.Soft(),
        "css": CSS,
        "js": PAGE_JS,
        "max_file_size": UPLOAD_LIMIT,
        "app_kwargs": {"middleware": [Middleware(RequestGuard, max_body=MAX_REQUEST_BYTES)],
                       "lifespan": only_these_tools},  # when the MCP server is on, only its two tools are tools
        # No allowed_paths: OUTPUT_DIR is never served as such (files go out as copies, see serving.py).
        "footer_links": ["api", "gradio"],
        "show_error": False,
    }
