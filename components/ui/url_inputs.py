"""Files a program names by URL, which Gradio fetches itself: fetched here with a byte limit.

A file input (the photo, `/edit`'s images and mask) may be sent as a URL instead of an
upload, and Gradio 6.31 then downloads it before any of this app's code runs. It keeps
to public addresses (safehttpx), but reads the whole body into memory and then writes it
to its cache, however large: one call naming a 5 GB file is 5 GB of this server's memory.

This replaces that one download with a streamed one under the same rules (safehttpx's
address check and pinned transport, Gradio's allow-list and redirect limit), refusing
what its Content-Length says is too large before reading it, and stopping, with the
partial file removed, as soon as more arrives than the model would take.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urljoin, urlparse

import gradio as gr
import httpx
import safehttpx
from gradio import processing_utils
from gradio_client.utils import strip_invalid_filename_characters

from components.api import schema
from components.ui import copy

MAX_URL_INPUT_BYTES = schema.MAX_IMAGE_BYTES
URL_INPUT_TIMEOUT = httpx.Timeout(connect=10.0, read=30.0, write=30.0, pool=10.0)


def refused(reason: str) -> gr.Error:
    return gr.Error(copy.URL_INPUT_REFUSED.format(reason=reason), title=copy.URL_INPUT_TITLE, print_exception=False)


async def _transport_for(host: str) -> httpx.AsyncBaseTransport | None:
    """Gradio's rule: its allow-listed hosts as they resolve; any other only at a public address, pinned."""
    if safehttpx.matches_domain_whitelist(host, processing_utils.PUBLIC_HOSTNAME_WHITELIST):
        return None
    try:
        return safehttpx.AsyncSecureTransport(await safehttpx.async_validate_url(host))
    except ValueError:
        raise refused(copy.URL_INPUT_NOT_PUBLIC) from None


async def bounded_download(url: str, cache_dir: str) -> str:
    """Gradio's `async_ssrf_protected_download`, with a byte limit and a streamed body."""
    folder = Path(cache_dir) / processing_utils.hash_url(url)
    name = strip_invalid_filename_characters(Path(urlparse(url).path.rstrip("/")).name) or "file"
    target = folder / name
    if target.exists():
        return str(target)
    folder.mkdir(parents=True, exist_ok=True)
    for _ in range(processing_utils.MAX_REDIRECTS + 1):
        host = httpx.URL(url).host
        if not host:
            raise refused(copy.URL_INPUT_NO_HOST)
        async with httpx.AsyncClient(transport=await _transport_for(host), timeout=URL_INPUT_TIMEOUT) as client:
            async with client.stream("GET", url, follow_redirects=False) as response:
                if response.has_redirect_location:
                    url = urljoin(str(response.url), response.headers["Location"])
                    continue
                if response.status_code != 200:
                    raise refused(copy.URL_INPUT_STATUS.format(status=response.status_code))
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > MAX_URL_INPUT_BYTES:
                    raise refused(too_large(int(declared)))
                await _stream_to(response, target)
                return str(target)
    raise refused(copy.URL_INPUT_REDIRECTS)


async def _stream_to(response: httpx.Response, target: Path) -> None:
    partial = target.with_name(target.name + ".part")
    written = 0
    try:
        with partial.open("wb") as out:
            async for chunk in response.aiter_bytes():
                written += len(chunk)
                if written > MAX_URL_INPUT_BYTES:
                    raise refused(too_large(written, at_least=True))
                out.write(chunk)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def too_large(size: int, at_least: bool = False) -> str:
    mb = 1024 * 1024
    return copy.URL_INPUT_TOO_LARGE.format(size=f"{'over ' if at_least else ''}{size / mb:.0f} MB",
                                           limit=f"{MAX_URL_INPUT_BYTES // mb} MB")


def bound_url_inputs() -> None:
    """Every file input of this process fetches URLs through `bounded_download` (Gradio looks it up per call)."""
    processing_utils.async_ssrf_protected_download = bounded_download
