"""Every model in the registry, end to end over real HTTP against the emulator.

What a person choosing a model cares about: the request reaches Segmind in that model's own
shape (a strict emulator refuses any other), the picture comes back at the size asked for,
limits are enforced before anything is sent or billed, a retired model is said so (and
remembered), a sweep across models compares like with like at the price it announced, and
the code the app writes for each model sends that same shape.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import os
import shutil
import subprocess
import sys

import httpx
import pytest
import requests
from gradio_client import Client, handle_file
from gradio_client.exceptions import ValidationError as ClientValidationError
from PIL import Image

from components.api import errors, schema
from components.api.config import ClientSettings, Secret
from components.app.backend import Backend
from components.app.history import HistoryStore
from components.app.retired import RetiredModels
from components.app.runs import RETIRED_FILE
from components.app.service import EditService
from components.app.snippets import SnippetRequest, curl, python_requests, python_sdk
from components.app.status import RunStatus
from components.emulator import Emulator
from components.media.images import EditRequest
from components.ui import build_app, launch_options
from components.ui.status import money
from components.app.grid import MODEL_AXIS, NO_AXIS, AxisChoice
from components.ui.sweep_tab import plan_grid, sweep_cost
from tests.conftest import KEY, edit_inputs, make_client, mask_bytes, owner_id, png_bytes

SLUGS = list(schema.MODELS)
ONE_IMAGE = "gpt-image-2"
PHOTO_COLOR, REFERENCE_COLOR = (200, 30, 30), (30, 200, 30)
# What each model is asked for: a size it allows (gpt-image-2's is not on the gpt-image-1 list), its lowest compression.
ASKED = {slug: ("2048x1152", 0) if slug == ONE_IMAGE else ("1536x1024", 1) for slug in SLUGS}


def pixels(size: str) -> tuple[int, int]:
    width, height = size.split("x")
    return int(width), int(height)


def stored(emulator: Emulator, url: str) -> bytes:
    return emulator.files[url.split(emulator.url + "/", 1)[1]].data


def color_of(data: bytes) -> tuple[int, ...]:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB").getpixel((0, 0))


def output_of(emulator: Emulator, job) -> Image.Image:
    image = Image.open(io.BytesIO(emulator.files[f"outputs/{job.output_name}"].data))
    image.load()
    return image


def new_jobs(emulator: Emulator, before: set[str]) -> list:
    return sorted((emulator.jobs[i] for i in set(emulator.jobs) - before), key=lambda j: j.submitted_at)


def assert_shape(emulator: Emulator, job, slug: str, *, with_mask: bool, references: int = 1) -> None:
    """The body the model took is its own shape: nothing ignored, the image(s) where it reads them,
    a mask only where it takes one."""
    model = schema.model(slug)
    params = job.params
    assert job.model == slug
    assert job.ignored == (), f"{slug} was sent keys it does not take: {job.ignored}"
    assert set(params) <= set(model.params_by_name)
    if slug == ONE_IMAGE:
        assert "image_urls" not in params and "mask" not in params
        assert isinstance(params["image"], str) and schema.is_image_reference(params["image"])
        assert color_of(stored(emulator, params["image"])) == PHOTO_COLOR
    else:
        assert "image" not in params
        assert isinstance(params["image_urls"], list) and len(params["image_urls"]) == 1 + references
        colors = [color_of(stored(emulator, url)) for url in params["image_urls"]]
        assert colors == [PHOTO_COLOR] + [REFERENCE_COLOR] * references
        assert ("mask" in params) is with_mask
        if with_mask:
            mask = Image.open(io.BytesIO(stored(emulator, params["mask"])))
            assert mask.mode == "RGBA" and mask.getchannel("A").getpixel((15, 15)) == 0


# A launched app in front of a strict emulator: any body not in the chosen model's shape is a 400 --------------


@pytest.fixture(scope="module")
def strict_emulator():
    with Emulator(key=KEY, strict=True, queue_seconds=0, processing_seconds=0.2) as emu:
        yield emu


@pytest.fixture(scope="module")
def app(strict_emulator, tmp_path_factory):
    backend = Backend(ClientSettings(poll_interval=0.05), emulator=strict_emulator)
    history = HistoryStore(tmp_path_factory.mktemp("models-history"))
    demo = build_app(backend, history=history, service=EditService(backend, history))
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **launch_options())
    yield demo, url
    demo.close()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model-inputs")
    photo, reference, mask = folder / "photo.png", folder / "texture.png", folder / "mask.png"
    photo.write_bytes(png_bytes((64, 48), PHOTO_COLOR))
    reference.write_bytes(png_bytes((32, 32), REFERENCE_COLOR))
    mask.write_bytes(mask_bytes((64, 48)))
    return photo, reference, mask


def edit(url: str, slug: str, images, mask, **options):
    client = Client(url, verbose=False)
    return client.predict(prompt=f"a lighthouse on {slug}", images=[handle_file(str(p)) for p in images],
                          mask=handle_file(str(mask)) if mask else None, model=slug, api_name="/edit", **options)


@pytest.mark.parametrize("slug", SLUGS)
def test_an_edit_through_the_app_reaches_each_model_in_its_own_shape(app, strict_emulator, files, slug):
    """/edit on a strict emulator: the body is the model's shape, and the picture is the size asked for."""
    _, url = app
    photo, reference, mask = files
    model = schema.model(slug)
    images = [photo] if model.max_images == 1 else [photo, reference]
    size = ASKED[slug][0]
    before = set(strict_emulator.jobs)
    path, status = edit(url, slug, images, mask, size=size, quality="low", output_format="jpeg",
                        output_compression=50)
    assert status["status"] == "COMPLETED", status
    (job,) = new_jobs(strict_emulator, before)
    assert job.request_id == status["request_id"]
    # The mask was given every time; only a model that takes one gets it.
    assert_shape(strict_emulator, job, slug, with_mask=model.takes_mask)
    assert job.params["size"] == size and job.params["output_compression"] == 50
    assert job.params["output_format"] == "jpeg" and job.params["quality"] == "low"
    # The picture the person gets is the size they asked for, and what the model made.
    with Image.open(path) as result:
        assert result.format == "JPEG" and result.size == pixels(size)
    assert (status["width"], status["height"]) == pixels(size)
    assert output_of(strict_emulator, job).size == pixels(size)
    assert status["cost"] == pytest.approx(model.estimated_cost(job.params))


@pytest.mark.parametrize("slug", SLUGS)
def test_the_lowest_compression_each_model_allows_goes_through(app, strict_emulator, files, slug):
    """0 on gpt-image-2 (its range is 0-100), 1 on the gpt-image-1 models (1-100), sent as asked."""
    _, url = app
    photo, _, _ = files
    lowest = ASKED[slug][1]
    assert schema.model(slug).params_by_name["output_compression"].minimum == lowest
    before = set(strict_emulator.jobs)
    try:
        path, status = edit(url, slug, [photo], None, output_format="jpeg", output_compression=lowest)
    except httpx.HTTPStatusError as exc:  # Gradio refused it at queue/join, before the app's own validator
        pytest.fail(f"/edit refused output_compression={lowest} for {slug}, which the model allows: "
                    f"HTTP {exc.response.status_code} {exc.response.text[:300]}")
    assert status["status"] == "COMPLETED", status
    (job,) = new_jobs(strict_emulator, before)
    assert job.params["output_compression"] == lowest and job.ignored == ()
    with Image.open(path) as result:
        assert result.format == "JPEG"


@pytest.mark.parametrize("slug", SLUGS)
def test_compression_outside_a_models_range_is_refused_before_anything_is_sent(app, strict_emulator, files, slug):
    """Below or above a model's range (0 on a gpt-image-1 model, 101 anywhere) nothing reaches Segmind."""
    _, url = app
    photo, _, _ = files
    bounds = schema.model(slug).params_by_name["output_compression"]
    assert (bounds.minimum, bounds.maximum) == ((0, 100) if slug == ONE_IMAGE else (1, 100))
    for refused in (bounds.minimum - 1, bounds.maximum + 1):
        calls, jobs = sum(strict_emulator.calls.values()), set(strict_emulator.jobs)
        # Refused by the app's validator (which names the parameter), or by Gradio's own slider bounds
        # (a bare HTTP 400 at queue/join) when the value is outside the slider's range.
        with pytest.raises((ClientValidationError, httpx.HTTPStatusError)) as caught:
            edit(url, slug, [photo], None, output_format="jpeg", output_compression=refused)
        if isinstance(caught.value, ClientValidationError):
            assert "output_compression" in str(caught.value) or str(refused) in str(caught.value)
        assert sum(strict_emulator.calls.values()) == calls and set(strict_emulator.jobs) == jobs


def test_a_custom_size_is_sent_to_gpt_image_2_and_refused_for_the_others(app, strict_emulator, files):
    """A WIDTHxHEIGHT not on any list: gpt-image-2 renders it; a gpt-image-1 model is stopped before sending."""
    _, url = app
    photo, _, _ = files
    custom = "1024x640"  # 655,360 pixels, edges multiples of 16: allowed by gpt-image-2's rule, listed nowhere
    assert custom not in schema.model(ONE_IMAGE).params_by_name["size"].choices
    assert schema.GPT_IMAGE_2_SIZES.problem(*pixels(custom)) is None
    before = set(strict_emulator.jobs)
    path, status = edit(url, ONE_IMAGE, [photo], None, size=custom)
    (job,) = new_jobs(strict_emulator, before)
    assert job.params["size"] == custom and job.ignored == ()
    with Image.open(path) as result:
        assert result.size == (1024, 640)
    calls = sum(strict_emulator.calls.values())
    with pytest.raises(ClientValidationError, match="size"):
        edit(url, "gpt-image-1-edit", [photo], None, size=custom)
    assert sum(strict_emulator.calls.values()) == calls


# Why the shape matters --------------------------------------------------------------------------------------


def data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def test_the_seeds_shape_sent_to_gpt_image_2_is_silently_a_text_to_image_job_and_strict_says_no(strict_emulator):
    """Segmind ignores keys a model does not take: image_urls + mask on gpt-image-2 is billed as text-to-image."""
    seed_shape = {"prompt": "make the door red", "image_urls": [data_uri(png_bytes((64, 48), PHOTO_COLOR))],
                  "mask": data_uri(mask_bytes((64, 48)))}
    with Emulator(key=KEY, queue_seconds=0, processing_seconds=0.1) as realistic:
        answer = requests.post(f"{realistic.url}/v2/{ONE_IMAGE}", json=seed_shape, headers={"x-api-key": KEY},
                               timeout=10)
        assert answer.status_code == 200, answer.text
        request_id = answer.json()["request_id"]
        client = make_client(realistic)
        try:
            *_, last = client.resume(request_id)
        finally:
            client.close()
        job = realistic.jobs[request_id]
        assert job.model == ONE_IMAGE and set(job.ignored) == {"image_urls", "mask"}
        assert "image" not in job.params and "image_urls" not in job.params and "mask" not in job.params
        # No image reached the model: it drew from the prompt alone, on its own canvas, and was billed for it.
        assert last.result is not None and job.cost > 0 and realistic.credits < 100.0
        assert color_of(last.result.image) != PHOTO_COLOR
        assert (last.result.width, last.result.height) == (1024, 1024)  # "auto" with no image: square
    jobs = set(strict_emulator.jobs)
    refused = requests.post(f"{strict_emulator.url}/v2/{ONE_IMAGE}", json=seed_shape, headers={"x-api-key": KEY},
                            timeout=10)
    assert refused.status_code == 400 and "image_urls" in refused.json()["error"]
    assert set(strict_emulator.jobs) == jobs


def test_the_client_never_sends_the_seeds_shape_to_gpt_image_2(strict_emulator):
    """Two images for gpt-image-2 are refused by prepare_payload, naming `image`, before any upload or submit."""
    checked = edit_inputs("x", [png_bytes((64, 48), PHOTO_COLOR), png_bytes((32, 32), REFERENCE_COLOR)],
                          mask_bytes((64, 48)))  # checked for the default model, then pointed at gpt-image-2
    inputs = dataclasses.replace(checked, model=ONE_IMAGE)
    calls = sum(strict_emulator.calls.values())
    client = make_client(strict_emulator)
    try:
        with pytest.raises(errors.ValidationError) as caught:
            client.prepare_payload(inputs)
        # The client's default model is not gpt-image-2: the inputs' model is what counts.
        assert client.model != ONE_IMAGE
    finally:
        client.close()
    assert [issue.param for issue in caught.value.issues] == ["image"]
    assert sum(strict_emulator.calls.values()) == calls


# A retired model ---------------------------------------------------------------------------------------------


def test_a_retired_model_fails_unbilled_names_its_successor_and_is_remembered(tmp_path):
    with Emulator(key=KEY, queue_seconds=0, processing_seconds=0.1,
                  retired_models=("gpt-image-1-edit",)) as emulator:
        settings = ClientSettings(api_base=emulator.url, storage_base=emulator.url, poll_interval=0.02,
                                  api_key=Secret(KEY))
        history_root = tmp_path / "history"
        backend = Backend(settings)
        service = EditService(backend, HistoryStore(history_root))
        credits = emulator.credits
        try:
            run = service.start_edit(EditRequest("a red door", [png_bytes()], model="gpt-image-1-edit"),
                                     owner=owner_id("retired"))
            assert run.wait(15)
            assert isinstance(run.error, errors.ModelRetiredError), run.error
            assert run.error.model == "gpt-image-1-edit" and run.error.successor == "gpt-image-2"
            assert run.error.status_code == 410
            assert "gpt-image-1-edit" in run.error.message and "gpt-image-2" in run.error.message
            assert run.record.status is RunStatus.FAILED and run.record.model == "gpt-image-1-edit"
            assert run.record.cost is None and run.result_path is None
            # Nothing billed, no job made.
            assert emulator.credits == credits and emulator.jobs == {}
            assert "gpt-image-1-edit" in service.runs.retired
            assert service.runs.retired.replacement("gpt-image-1-edit") == "gpt-image-2"
            # Its successor still runs, and is billed as usual.
            done = service.start_edit(EditRequest("a red door", [png_bytes()], model="gpt-image-2"),
                                      owner=owner_id("retired"))
            assert done.wait(15) and done.record.status is RunStatus.COMPLETED, done.record.error
            assert emulator.credits < credits
        finally:
            assert service.wait_idle(10)
            backend.close()
    # A restarted app, over the same history folder, knows at start-up.
    assert (history_root / RETIRED_FILE).is_file()
    restarted = EditService(Backend(settings), HistoryStore(history_root))
    try:
        assert "gpt-image-1-edit" in restarted.runs.retired
        assert "gpt-image-2" not in restarted.runs.retired
        assert restarted.runs.retired.replacement("gpt-image-1-edit") == "gpt-image-2"
        assert "gpt-image-1-edit" in RetiredModels(history_root / RETIRED_FILE)
    finally:
        restarted.backend.close()


# A sweep across the models, through the launched app --------------------------------------------------------


def test_a_model_sweep_runs_every_model_each_in_its_shape_at_the_announced_price(app, strict_emulator, files):
    """A sweep varying the model, started as the Sweep tab starts it (its cells from the Edit form, then
    the app's EditService). The form asks for gpt-image-2 at a custom size, which the gpt-image-1 models
    cannot take, so they run at their own default size and say so; the rest of the form (quality, format,
    compression 50, the mask) they can take, and keep."""
    demo, _ = app
    photo, _, mask = files
    owner = owner_id("model-sweep")
    width, height = 1024, 640
    form = {"model": ONE_IMAGE, "prompt": "the same lighthouse", "photo": str(photo), "editor": None,
            "files": None, "urls": "", "mask_file": str(mask), "size": "custom", "quality": "low",
            "background": "opaque", "output_compression": 50, "output_format": "jpeg", "moderation": "auto",
            "custom_width": width, "custom_height": height, "deadline": 30, "visitor_key": ""}
    plan = plan_grid(AxisChoice(MODEL_AXIS, tuple(SLUGS)), AxisChoice(NO_AXIS), [], form)
    variants = plan.variants
    assert [label.split(" ")[0] for label, _ in variants] == [f"model={slug}" for slug in SLUGS]
    before = set(strict_emulator.jobs)
    runs = demo.service.start_sweep(variants, owner=owner, limit=4, deadline=30)
    assert len(runs) == 4 and all(run.wait(20) for run in runs)

    records = {r.model: r for r in demo.history.records(owner)}
    assert set(records) == set(SLUGS)
    assert all(r.status is RunStatus.COMPLETED and r.result for r in records.values()), \
        {slug: r.error for slug, r in records.items()}
    assert len({r.sweep_id for r in records.values()}) == 1
    for slug, record in records.items():
        assert record.label.startswith(f"model={slug}")
        if slug == ONE_IMAGE:
            assert record.label == f"model={slug}"  # it took the form as it was
            assert record.options["size"] == f"{width}x{height}"
        else:  # the custom size is not allowed: its default, and the label says so (and says nothing else)
            assert record.label == f"model={slug} (size auto)", record.label
            assert record.options["size"] == "auto"
        assert record.options["output_compression"] == 50 and record.options["quality"] == "low"

    ran = {j.model: j for j in new_jobs(strict_emulator, before)}
    assert set(ran) == set(SLUGS)
    for slug, sent in ran.items():
        assert_shape(strict_emulator, sent, slug, with_mask=schema.model(slug).takes_mask, references=0)
        assert sent.request_id == records[slug].request_id
        assert sent.params["quality"] == "low" and sent.params["output_format"] == "jpeg"
        assert sent.params["output_compression"] == 50
        # gpt-image-2 at the custom size; the others' "auto" picks the listed size nearest the 4:3 photo.
        expected = (width, height) if slug == ONE_IMAGE else (1536, 1024)
        assert output_of(strict_emulator, sent).size == expected

    # The estimate shown before the sweep started: each model priced on what it was sent, summed; `auto` at the
    # oblong size the 4:3 photo gets, which is what the emulator rendered and billed.
    billed = [records[slug].cost for slug in SLUGS]
    list_prices = [0.016, 0.013, 0.006, round(0.006 * width * height / (1024 * 1024), 4)]
    assert billed == pytest.approx(list_prices)
    assert [cell.estimated_cost for cell in plan.cells] == pytest.approx(billed)
    announced = sweep_cost(AxisChoice(MODEL_AXIS, tuple(SLUGS)), AxisChoice(NO_AXIS), [], form, threshold=10,
                           simulated=False)
    assert announced.startswith(f"**4 jobs** (4 columns) · estimated **{money(sum(billed))}** ("), announced


# Copy as code, for each model --------------------------------------------------------------------------------

FLAVOURS = {"sdk": python_sdk, "requests": python_requests, "curl": curl}


def reader_env() -> dict[str, str]:
    """The reader's environment: their key, and no proxy (anything not on loopback would go nowhere)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGMIND_") and "proxy" not in k.lower()}
    nowhere = "http://127.0.0.1:9"
    return {**env, **{name: nowhere for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")},
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost", "SEGMIND_API_KEY": KEY}


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    """A reader's folder with the files the snippet names: the photo, a reference, the mask."""
    folder = tmp_path_factory.mktemp("reader")
    (folder / "image-1.png").write_bytes(png_bytes((64, 48), PHOTO_COLOR))
    (folder / "image-2.png").write_bytes(png_bytes((32, 32), REFERENCE_COLOR))
    (folder / "mask.png").write_bytes(mask_bytes((64, 48)))
    return folder


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("slug", SLUGS)
def test_the_code_for_each_model_sends_its_shape(strict_emulator, reader, slug, flavour):
    """The snippet for the same form (a photo, a reference and a mask), run as written, per model."""
    if flavour == "curl" and any(shutil.which(tool) is None for tool in ("curl", "jq", "base64")):
        pytest.skip("the curl snippet needs curl, jq and base64")
    model = schema.model(slug)
    size = "1024x640" if slug == ONE_IMAGE else "1024x1024"
    request = SnippetRequest("a lighthouse at dusk", ["image-1.png", "image-2.png"], "mask.png",
                             {"quality": "low", "size": size, "output_format": "webp",
                              "output_compression": 0 if slug == ONE_IMAGE else 1},
                             model=slug, api_base=strict_emulator.url, storage_base=strict_emulator.url)
    code = FLAVOURS[flavour](request)
    script = reader / ("snippet.sh" if flavour == "curl" else "snippet.py")
    script.write_text(code)
    command = ["bash", script.name] if flavour == "curl" else [sys.executable, script.name]
    before = set(strict_emulator.jobs)
    done = subprocess.run(command, cwd=reader, env=reader_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (job,) = new_jobs(strict_emulator, before)
    # A one-image model gets the photo alone and no mask; the others the reference and the mask too.
    assert_shape(strict_emulator, job, slug, with_mask=model.takes_mask)
    assert job.params["size"] == size and job.params["output_compression"] == request.options["output_compression"]
    saved = reader / f"{slug}_{job.request_id}.webp"
    assert saved.is_file() and saved.name in done.stdout
    with Image.open(saved) as image:
        assert image.format == "WEBP" and image.size == pixels(size)


def test_the_picker_and_the_card_date_each_shutdown_as_coming_then_past():
    """The same model reads 'retires' the day before OpenAI's date and 'retired' from that day on."""
    from datetime import date
    from components.ui.models import model_card, model_choices
    from tests.conftest import BEFORE_ANY_SHUTDOWN
    before = dict((slug, label) for label, slug in model_choices(tuple(schema.MODELS), BEFORE_ANY_SHUTDOWN))
    after = dict((slug, label) for label, slug in model_choices(tuple(schema.MODELS), date(2026, 10, 23)))
    assert before["gpt-image-1-edit"].endswith("retires 2026-10-23")
    assert after["gpt-image-1-edit"].endswith("retired 2026-10-23")
    assert after["gpt-image-1.5-edit"].endswith("retires 2026-12-01")
    assert before["gpt-image-2"] == after["gpt-image-2"] == "GPT Image 2 · gpt-image-2"
    assert "Retired by OpenAI on 2026-10-23" in model_card("gpt-image-1-edit", date(2026, 11, 26))
    assert "Retired" not in model_card("gpt-image-1-edit", BEFORE_ANY_SHUTDOWN)
