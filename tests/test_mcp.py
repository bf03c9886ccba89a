"""The app as an MCP server: an MCP client over loopback, the emulator standing in for Segmind."""

from __future__ import annotations

import asyncio
import base64
import io
import json

import httpx
import pytest
import requests
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, ImageContent, TextContent
from PIL import Image

from components.api import schema
from components.api.config import ClientSettings, Secret
from components.app.backend import Backend
from components.app.quota import DeployerQuota
from components.app.service import EditService
from components.app.settings import AppSettings
from components.app.history import HistoryStore
from components.emulator import Emulator
from components.ui import build_app, launch_options
from components.ui.guard import SMALL_BODY_BYTES
from components.ui.mcp_tools import MCP_CALL_BYTES, edit_description, price_text
from components.ui.status import money
from tests.conftest import KEY, png_bytes

VISITOR_KEY = "visitor-key-for-mcp-4e1d"


@pytest.fixture(scope="module")
def module_emulator():
    with Emulator(key=KEY, queue_seconds=0.05, processing_seconds=0.2, record_keys=True) as emu:
        yield emu


@pytest.fixture(scope="module")
def app_url(module_emulator):
    """The app with its MCP server on, the emulator answering as Segmind: a deployer key, visitors' keys allowed."""
    settings = ClientSettings(api_base=module_emulator.url, storage_base=module_emulator.url, api_key=Secret(KEY),
                              poll_interval=0.05)
    demo = build_app(Backend(settings, allow_visitor_keys=True))
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", mcp_server=True,
                            **launch_options())
    yield url
    demo.close()


@pytest.fixture
def emulator(module_emulator):
    module_emulator.calls.clear()
    module_emulator.received_keys.clear()
    module_emulator.processing_seconds = 0.2
    return module_emulator


def with_mcp(url: str, calls, headers: dict[str, str] | None = None):
    """Run `calls(session)` in an MCP session with the app's server (streamable HTTP, as Gradio serves it)."""
    async def run():
        async with httpx.AsyncClient(headers=headers or {}, timeout=httpx.Timeout(30, read=120)) as http:
            async with streamable_http_client(f"{url}gradio_api/mcp/", http_client=http) as (read, write, _):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    return await calls(session)
    return asyncio.run(run())


def call(url: str, tool: str, arguments: dict, headers: dict[str, str] | None = None) -> CallToolResult:
    return with_mcp(url, lambda session: session.call_tool(tool, arguments), headers)


def data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def texts(result: CallToolResult) -> list[str]:
    return [item.text for item in result.content if isinstance(item, TextContent)]


def status_of(result: CallToolResult) -> dict:
    assert not result.isError, texts(result)
    return json.loads(next(text for text in texts(result) if text.startswith("{")))


def image_of(result: CallToolResult) -> Image.Image:
    image = next(item for item in result.content if isinstance(item, ImageContent))
    return Image.open(io.BytesIO(base64.b64decode(image.data)))


def test_only_the_two_tools_are_listed_with_models_limits_and_costs(app_url):
    tools = {tool.name: tool for tool in with_mcp(app_url, lambda s: s.list_tools()).tools}
    assert set(tools) == {"edit_image", "get_job"}  # `/edit` stays an API endpoint, not a tool
    # Nor is it one for a client that names it, or for the schema the API page's MCP tab shows.
    assert "Unknown tool" in texts(call(app_url, "edit", {"prompt": "x", "images": []}))[0]
    assert [tool["name"] for tool in requests.get(f"{app_url}gradio_api/mcp/schema", timeout=10).json()] == [
        "edit_image", "get_job"]
    description = tools["edit_image"].description
    for model in schema.MODELS.values():
        assert f"`{model.slug}`" in description and money(model.pricing.per_quality["high"][0]) in description
    assert f"{schema.MAX_PROMPT_CHARS:,} characters" in description and "x-api-key" in description
    assert f"{MCP_CALL_BYTES // 2**20} MB at most" in description  # the MCP SDK's bound, the tighter one
    properties = tools["edit_image"].inputSchema["properties"]
    assert set(tools["edit_image"].inputSchema["required"]) == {"prompt", "images"}
    assert properties["quality"]["enum"] == list(schema.QUALITY.choices)
    for name in schema.ALL_OPTION_NAMES:  # each option says what it does, as the registry words it
        assert all(p.help in properties[name]["description"]
                   for m in schema.MODELS.values() for p in m.options if p.name == name)
    assert schema.MASK.help in properties["mask"]["description"]
    assert properties["images"]["items"] == {"type": "string"}  # URLs or data URIs, read by the app's own rules
    assert not any("key" in name for tool in tools.values() for name in tool.inputSchema["properties"])
    assert "job_token" in tools["get_job"].inputSchema["properties"]


def test_each_model_s_prices_say_what_size_auto_costs():
    """An agent sending a landscape photo at size `auto` must not read the square price as its price."""
    seed, gpt2 = price_text(schema.model("gpt-image-1-edit")), price_text(schema.model("gpt-image-2"))
    assert "`high` $0.167 for a square image; $0.016, $0.063, $0.25 for other sizes" in seed
    assert "quality `auto` is estimated as medium" in seed
    assert "size `auto` is priced at the size it picks for the first image's shape (1024x1024, 1536x1024 or " \
           "1024x1536)" in seed
    assert "(1024x1024, 1536x1024, 1024x1536, 2048x1152 or 1152x2048)" in gpt2
    assert "in proportion to the output's area" in gpt2


def test_the_description_follows_the_backend_and_the_deployers_limits(emulator, tmp_path):
    simulated = Backend(ClientSettings(), emulator=emulator)
    text = edit_description([schema.model()], schema.DEFAULT_MODEL, EditService(simulated, HistoryStore(tmp_path)),
                            AppSettings().deadline)
    assert "simulated" in text and "- `gpt-image-2`" not in text  # only the models offered
    paying = Backend(ClientSettings(api_key=Secret(KEY)), quota=DeployerQuota(per_hour=7))
    assert "7 per hour" in edit_description([schema.model()], schema.DEFAULT_MODEL,
                                            EditService(paying, HistoryStore(tmp_path)), 600.0)


def test_edit_image_turns_an_uploaded_image_into_an_edited_one(app_url, emulator):
    result = call(app_url, "edit_image", {"prompt": "make it pink", "images": [data_uri(png_bytes((64, 48)))],
                                          "output_format": "webp", "size": "1024x1024"})
    status = status_of(result)
    assert status["status"] == "COMPLETED" and status["request_id"] in emulator.jobs and status["job_token"]
    assert image_of(result).format == "WEBP" and image_of(result).size == (1024, 1024)
    assert any(text.startswith("Image URL: http") for text in texts(result))
    assert emulator.jobs[status["request_id"]].params["output_format"] == "webp"


def test_image_urls_go_to_segmind_untouched_and_a_path_is_never_read(app_url, emulator, tmp_path):
    """A local file reaches the tool as the URL of its upload to /gradio_api/upload (Gradio's upload tool)."""
    path = requests.post(f"{app_url}gradio_api/upload", files={"files": ("photo.png", png_bytes())},
                         timeout=10).json()[0]
    uploaded, elsewhere = f"{app_url}gradio_api/file={path}", "https://example.com/photos/cat.png"
    status = status_of(call(app_url, "edit_image", {"prompt": "x", "images": [uploaded, elsewhere,
                                                                             data_uri(png_bytes())]}))
    sent = emulator.jobs[status["request_id"]].params["image_urls"]
    assert sent[:2] == [uploaded, elsewhere] and sent[2].startswith(emulator.url)  # the data URI, uploaded
    jobs = len(emulator.jobs)
    secret = tmp_path / "secret.png"
    secret.write_bytes(png_bytes())
    for local in (str(secret), f"file://{secret}", path):
        refused = call(app_url, "edit_image", {"prompt": "x", "images": [local]})
        assert refused.isError and "Nothing was sent" in texts(refused)[0]
    assert len(emulator.jobs) == jobs


def test_a_tool_call_is_bounded_in_bytes(app_url):
    """The MCP server reads a call whole into memory: inline images are bounded as the description says."""
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    too_large = requests.post(f"{app_url}gradio_api/mcp/", data=b"x" * (SMALL_BODY_BYTES + 1), headers=headers,
                              timeout=10)
    assert too_large.status_code == 413


def test_an_invalid_parameter_comes_back_as_a_tool_error(app_url, emulator):
    result = call(app_url, "edit_image", {"prompt": "x", "images": [data_uri(png_bytes())],
                                          "background": "transparent", "output_format": "jpeg"})
    assert result.isError
    assert "Nothing was sent" in texts(result)[0] and "background" in texts(result)[0]
    too_wide = call(app_url, "edit_image", {"prompt": "x", "images": [data_uri(png_bytes())], "model": "gpt-image-2",
                                            "size": "4000x1000"})
    assert too_wide.isError and "4000x1000" in texts(too_wide)[0]
    assert sum(emulator.calls.values()) == 0


def test_get_job_collects_a_job_that_outlived_the_deadline(app_url, emulator):
    emulator.processing_seconds = 1.5
    late = call(app_url, "edit_image", {"prompt": "slow", "images": [data_uri(png_bytes())], "deadline": 0.3})
    assert late.isError and "get_job(" in texts(late)[0]
    request_id = texts(late)[0].split("request_id='")[1].split("'")[0]
    token = texts(late)[0].split("job_token='")[1].split("'")[0]
    collected = call(app_url, "get_job", {"request_id": request_id, "job_token": token})
    assert status_of(collected)["status"] == "COMPLETED" and status_of(collected)["request_id"] == request_id
    assert image_of(collected).format == "PNG"  # the default output format
    # Again, now that it is finished; and without its token nobody but the key's owner may follow it.
    assert status_of(call(app_url, "get_job", {"request_id": request_id, "job_token": token}))["status"] == "COMPLETED"
    refused = call(app_url, "get_job", {"request_id": request_id})
    assert refused.isError and "job_token" in texts(refused)[0] and "x-api-key" in texts(refused)[0]


def test_a_visitor_key_in_the_header_is_used_and_never_shown(app_url, emulator):
    emulator.key = VISITOR_KEY
    try:
        headers = {"x-api-key": VISITOR_KEY}
        done = call(app_url, "edit_image", {"prompt": "mine", "images": [data_uri(png_bytes())]}, headers)
        request_id = status_of(done)["request_id"]
        # With the key that submitted it, a request id alone is enough.
        collected = call(app_url, "get_job", {"request_id": request_id}, headers)
        wrong = call(app_url, "edit_image", {"prompt": "theirs", "images": [data_uri(png_bytes())]},
                     {"x-api-key": "wrong-" + VISITOR_KEY})
    finally:
        emulator.key = KEY
    assert status_of(collected)["status"] == "COMPLETED"
    assert set(emulator.received_keys) == {VISITOR_KEY, "wrong-" + VISITOR_KEY}
    assert wrong.isError and "API key" in texts(wrong)[0]
    for result in (done, collected, wrong):
        assert VISITOR_KEY not in result.model_dump_json()
