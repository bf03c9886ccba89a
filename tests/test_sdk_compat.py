"""The vendor's own SDK (segmind 1.3.0), unchanged, against the emulator."""

from __future__ import annotations

import io

import httpx
import pytest
import segmind
from PIL import Image

from tests.conftest import KEY, make_client, png_bytes


@pytest.fixture
def sdk(emulator):
    return segmind.SegmindClient(api_key=KEY, base_url=emulator.url + "/v1")


@pytest.fixture
def image_url(emulator):
    from components.media.images import load_image
    return make_client(emulator).upload([load_image(png_bytes())])[0]


def test_submit_async_wait_completes_with_a_downloadable_image(sdk, image_url):
    job = sdk.submit_async("gpt-image-1-edit", prompt="make it pink", image_urls=[image_url],
                           size="1024x1024", quality="low", output_format="png")
    assert job.request_id
    result = job.wait(timeout=30, interval=0.1)
    assert result["status"] == "COMPLETED"
    image = Image.open(io.BytesIO(httpx.get(result["output"]).content))
    assert image.size == (1024, 1024)
    assert result["metrics"]["inference_time"] > 0


def test_a_failed_job_raises_inference_failed_with_the_detail(sdk, image_url):
    job = sdk.submit_async("gpt-image-1-edit", prompt="#fail please", image_urls=[image_url])
    with pytest.raises(segmind.InferenceFailed) as caught:
        job.wait(timeout=30, interval=0.1)
    assert "#fail" in caught.value.detail


def test_run_sync_returns_the_image(sdk, image_url):
    response = sdk.run_sync("gpt-image-1-edit", prompt="x", image_urls=[image_url], output_format="webp")
    assert response.headers["content-type"] == "image/webp"
    assert Image.open(io.BytesIO(response.content)).format == "WEBP"


def test_sdk_errors_carry_the_status_and_detail(emulator, image_url):
    wrong = segmind.SegmindClient(api_key="nope", base_url=emulator.url + "/v1")
    with pytest.raises(segmind.SegmindError) as caught:
        wrong.submit_async("gpt-image-1-edit", prompt="x", image_urls=[image_url])
    assert caught.value.status == 401 and "API key" in caught.value.detail
