"""The vendor's SDK, unchanged, on every model in the registry: each slug answers in its own shape."""

from __future__ import annotations

import io

import httpx
import pytest
import segmind
from PIL import Image

from components.api import schema
from components.emulator import Emulator
from tests.conftest import KEY, make_client, png_bytes


@pytest.fixture(scope="module")
def emulator():
    with Emulator(key=KEY, queue_seconds=0.0, processing_seconds=0.1, strict=True) as emu:
        yield emu


@pytest.mark.parametrize("slug", list(schema.MODELS))
def test_the_sdk_edits_on_every_model_in_its_shape(emulator, slug):
    from components.media.images import load_image
    model = schema.model(slug)
    url = make_client(emulator).upload([load_image(png_bytes((300, 200)))])[0]
    image = {model.image_param.name: [url] if model.takes_references else url}
    size = "2048x1152" if model.size_rule else "1536x1024"
    sdk = segmind.SegmindClient(api_key=KEY, base_url=emulator.url + "/v1")
    job = sdk.submit_async(slug, prompt="make it pink", size=size, quality="low", **image)
    result = job.wait(timeout=30, interval=0.05)
    assert result["status"] == "COMPLETED"
    assert Image.open(io.BytesIO(httpx.get(result["output"]).content)).size == schema.parse_size(size)
    assert emulator.jobs[job.request_id].model == slug


def test_the_strict_double_refuses_the_seeds_shape_on_gpt_image_2(emulator):
    """On Segmind it would be ignored and billed as text-to-image; the strict double makes it fail loudly."""
    sdk = segmind.SegmindClient(api_key=KEY, base_url=emulator.url + "/v1")
    with pytest.raises(segmind.SegmindError) as caught:
        sdk.submit_async("gpt-image-2", prompt="x", image_urls=["https://example.com/a.png"])
    assert caught.value.status == 400 and "image_urls" in caught.value.detail
