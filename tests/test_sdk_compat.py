"""The vendor's own SDK (segmind 1.3.0), unchanged, against the emulator: its realistic default and strict."""

from __future__ import annotations

import io

import httpx
import pytest
import segmind
from PIL import Image

from components.emulator import Emulator
from tests.conftest import KEY, make_client, png_bytes


@pytest.fixture(params=["realistic", "strict"])
def emulator(request):
    with Emulator(key=KEY, queue_seconds=0.05, processing_seconds=0.2, strict=request.param == "strict") as emu:
        yield emu


@pytest.fixture
def sdk(emulator):
    return segmind.SegmindClient(api_key=KEY, base_url=emulator.url + "/v1")


@pytest.fixture
def image_url(emulator):
    from components.media.images import load_image
    return make_client(emulator).upload([load_image(png_bytes())])[0]


def test_submit_async_wait_completes_with_a_downloadable_image(sdk, image_url, emulator):
    job = sdk.submit_async("gpt-image-1-edit", prompt="make it pink", image_urls=[image_url],
                           size="1024x1024", quality="low", output_format="png")
    assert job.request_id and job.submit_response["status"] == "QUEUED"
    result = job.wait(timeout=30, interval=0.1)
    assert result["status"] == "COMPLETED"
    # The output lives on its own host, which the SDK (like a browser) fetches without a key.
    assert result["output"].startswith(emulator.output_url)
    image = Image.open(io.BytesIO(httpx.get(result["output"]).content))
    assert image.size == (1024, 1024)
    assert result["metrics"]["inference_time"] > 0 and result["metrics"]["total_time"] >= 0


def test_the_model_pages_own_sample_with_mask_none_works(sdk, image_url):
    """Segmind's sample sends `"mask": null` when there is no mask."""
    result = sdk.submit_async("gpt-image-1-edit", prompt="a toy in blister packaging", image_urls=[image_url],
                              mask=None, size="auto", quality="auto", background="opaque",
                              output_compression=100, output_format="png", moderation="auto").wait(30, 0.1)
    assert result["status"] == "COMPLETED"


def test_a_failed_job_raises_inference_failed_with_the_detail(sdk, image_url):
    job = sdk.submit_async("gpt-image-1-edit", prompt="#fail please", image_urls=[image_url])
    with pytest.raises(segmind.InferenceFailed) as caught:
        job.wait(timeout=30, interval=0.1)
    assert "#fail" in caught.value.detail


def test_a_bad_parameter_fails_late_by_default_and_early_when_strict(sdk, image_url, emulator):
    if emulator.strict:
        with pytest.raises(segmind.SegmindError) as caught:
            sdk.submit_async("gpt-image-1-edit", prompt="", image_urls=[image_url])
        assert caught.value.status == 400 and "prompt" in caught.value.detail
        return
    job = sdk.submit_async("gpt-image-1-edit", prompt="", image_urls=[image_url])  # accepted, with an id
    with pytest.raises(segmind.InferenceFailed) as caught:
        job.wait(timeout=30, interval=0.1)
    assert caught.value.detail == "Prompt is Mandatory"
    assert "cost" not in caught.value.status_body["metrics"]


def test_run_sync_returns_the_image_and_its_headers(sdk, image_url):
    response = sdk.run_sync("gpt-image-1-edit", prompt="x", image_urls=[image_url], output_format="webp")
    assert response.headers["content-type"] == "image/webp"
    assert Image.open(io.BytesIO(response.content)).format == "WEBP"
    assert response.headers["x-request-id"] and float(response.headers["x-cost"]) > 0


def test_sdk_errors_carry_the_status_and_detail(emulator, image_url):
    wrong = segmind.SegmindClient(api_key="nope", base_url=emulator.url + "/v1")
    with pytest.raises(segmind.SegmindError) as caught:
        wrong.submit_async("gpt-image-1-edit", prompt="x", image_urls=[image_url])
    # The SDK reads only `error`: OAuth-style answers (the realistic default) give it the code.
    assert caught.value.status == 401
    assert caught.value.detail == ("Invalid API key" if emulator.strict else "invalid_token")


def test_sdk_out_of_credits_is_402_on_v2_and_406_on_v1(emulator, sdk, image_url):
    emulator.credits = 0.0
    with pytest.raises(segmind.SegmindError) as caught:
        sdk.submit_async("gpt-image-1-edit", prompt="x", image_urls=[image_url])
    assert caught.value.status == (406 if emulator.strict else 402) and "credits" in caught.value.detail
    with pytest.raises(segmind.SegmindError) as caught:
        sdk.run_sync("gpt-image-1-edit", prompt="x", image_urls=[image_url])
    assert caught.value.status == 406
