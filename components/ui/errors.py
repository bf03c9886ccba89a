"""The one place where an exception becomes what a visitor sees: a gr.Error, never a traceback."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, TypeVar

import gradio as gr

from components.api import errors
from components.app import refusals
from components.ui import copy

log = logging.getLogger("components.ui")

T = TypeVar("T")


def title_for(exc: BaseException) -> str:
    if isinstance(exc, refusals.Refusal):
        return "Limit reached"
    if isinstance(exc, errors.ValidationError):
        return "Not started"
    if isinstance(exc, errors.SegmindError):
        return type(exc).__name__
    return "Unexpected error"


def as_gr_error(exc: BaseException, title: str | None = None, *,
                wording: Callable[[BaseException], str] = copy.error_message) -> gr.Error:
    """The visitor-facing error for any exception, in `wording`'s terms (the page's by default); an unexpected
    one is logged with its traceback here."""
    if isinstance(exc, gr.Error):
        return exc
    if not isinstance(exc, (errors.SegmindError, refusals.Refusal)):
        log.error("unexpected error", exc_info=exc)
    return gr.Error(wording(exc), title=title or title_for(exc), print_exception=False)


async def in_thread(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking work (decoding, disk) off the event loop; any failure comes back as a gr.Error."""
    try:
        return await asyncio.to_thread(call, *args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - every failure is shown to the visitor, none as a traceback
        raise as_gr_error(exc) from None
