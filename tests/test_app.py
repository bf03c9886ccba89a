"""The app through gradio_client, launched on loopback with the emulator behind it."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from gradio_client.exceptions import ValidationError as ClientValidationError
from PIL import Image, ImageDraw

from components.api import schema
from components.api.schema import DEFAULT_MODEL
from components.app.backend import Backend
from components.app.settings import AppSettings, Storage
from components.api.config import Secret, ClientSettings
from components.emulator import Emulator
from components.media.mask import mask_from_editor
from components.ui import build_app, copy, launch_options
from components.ui.api_endpoint import EXAMPLE_PHOTO
from tests.conftest import owner_id, KEY, mask_bytes, png_bytes, wait_until


@pytest.fixture(scope="module")
def module_emulator():
    with Emulator(key=KEY, queue_seconds=0.05, processing_seconds=0.3, record_keys=True) as emu:
        yield emu


def launch(backend: Backend):
    demo = build_app(backend)
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **launch_options())
    return demo, url


@pytest.fixture(scope="module")
def app(module_emulator):
    """The app on the emulator as its default (no deployer key) backend."""
    backend = Backend(ClientSettings(poll_interval=0.05), emulator=module_emulator)
    demo, url = launch(backend)
    yield demo, url
    demo.close()


@pytest.fixture
def app_url(app):
    return app[1]


@pytest.fixture
def emulator(module_emulator):
    module_emulator.faults.clear()
    module_emulator.calls.clear()
    module_emulator.processing_seconds = 0.3
    module_emulator.received_keys.clear()
    return module_emulator


@pytest.fixture
def images(tmp_path):
    paths = []
    for index, color in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200)]):
        path = tmp_path / f"input-{index}.png"
        path.write_bytes(png_bytes((64, 48), color))
        paths.append(str(path))
    return paths


def edit(url, images, headers=None, **options):
    client = Client(url, verbose=False, headers=headers)
    arguments = dict(prompt="make it pink", images=[handle_file(p) for p in images], mask=None)
    arguments.update(options)
    return client.predict(**arguments, api_name="/edit")


def stored(emulator, url):
    return emulator.files[url.split(emulator.url + "/", 1)[1]].data


def test_edit_happy_path_returns_the_image_and_status(app_url, emulator, images):
    path, status = edit(app_url, images[:1], output_format="webp", quality="low", size="1024x1024")
    assert Image.open(path).format == "WEBP" and Image.open(path).size == (1024, 1024)
    assert path.endswith(".webp") and "make-it-pink" in path
    assert status["status"] == "COMPLETED" and status["backend"] == "emulator"
    assert status["request_id"] in emulator.jobs
    assert status["inference_time"] > 0 and status["elapsed"] >= status["inference_time"]
    assert status["cost"] == 0.011


def test_edit_streams_states_before_the_result(app_url, emulator, images):
    emulator.processing_seconds = 1.5
    job = Client(app_url, verbose=False).submit(prompt="x", images=[handle_file(images[0])], mask=None,
                                               api_name="/edit")
    outputs = list(job)
    states = [status["status"] for _, status in outputs]
    assert "PROCESSING" in states and states[-1] == "COMPLETED"
    assert outputs[-1][0] is not None and all(path is None for path, _ in outputs[:-1])


def test_several_references_keep_their_order_and_a_mask_file_is_sent(app_url, emulator, images, tmp_path):
    mask = tmp_path / "mask.png"
    mask.write_bytes(mask_bytes((64, 48)))
    _, status = edit(app_url, images, mask=handle_file(str(mask)))
    params = emulator.jobs[status["request_id"]].params
    colors = [Image.open(io.BytesIO(stored(emulator, u))).getpixel((0, 0)) for u in params["image_urls"]]
    assert colors == [(200, 30, 30), (30, 200, 30), (30, 30, 200)]
    sent_mask = Image.open(io.BytesIO(stored(emulator, params["mask"])))
    assert sent_mask.getchannel("A").getpixel((15, 15)) == 0


def test_a_painted_layer_becomes_the_right_mask_at_the_photos_size(app_url, emulator, tmp_path):
    """The editor paints on a half-size working copy; the mask reaches Segmind at the photo's own size."""
    photo = tmp_path / "photo.png"
    Image.new("RGB", (120, 80), (10, 120, 200)).save(photo)
    placeholder = tmp_path / "bg.png"
    Image.new("RGBA", (1, 1), (0, 0, 0, 0)).save(placeholder)  # what the page sends instead of the picture
    layer = Image.new("RGBA", (60, 40), (0, 0, 0, 0))
    ImageDraw.Draw(layer).rectangle((10, 5, 24, 19), fill=(255, 0, 170, 255))
    layer_path = tmp_path / "layer.png"
    layer.save(layer_path)
    editor_value = {"background": handle_file(str(placeholder)), "layers": [handle_file(str(layer_path))],
                    "composite": handle_file(str(placeholder))}
    client = Client(app_url, verbose=False)
    # The UI's own event takes its inputs in order: the click's ticket, the browser's owner id, model, prompt,
    # photo, editor, files, urls, mask file, options, custom width and height, deadline, key, keep the original
    # outside the mask, feather, takes.
    options = ["auto", "auto", "opaque", 100, "png", "auto"]
    client.predict("ticket-painted", owner_id("owner-1"), DEFAULT_MODEL, "a bowl of oranges", handle_file(str(photo)),
                   editor_value, None, "", None, *options, None, None, 60, "", False, 0, 1, api_name="/run_ui")
    job = max(emulator.jobs.values(), key=lambda j: j.submitted_at)
    assert stored(emulator, job.params["image_urls"][0]) == photo.read_bytes()  # the photo as given
    mask = Image.open(io.BytesIO(stored(emulator, job.params["mask"])))
    assert mask.format == "PNG" and mask.mode == "RGBA" and mask.size == (120, 80)
    alpha = mask.getchannel("A")
    assert alpha.getpixel((30, 20)) == 0 and alpha.getpixel((100, 70)) == 255
    assert alpha.histogram()[0] == 30 * 30 and set(alpha.getdata()) == {0, 255}


def test_edit_keeps_the_original_outside_the_mask_exactly(app_url, emulator, tmp_path):
    """The emulator greys out the masked area and stamps a banner over the whole image; asked to keep
    the original outside the mask, /edit returns the input's own pixels everywhere the mask does not open."""
    photo = Image.merge("RGB", [Image.effect_noise((96, 64), 50 + 20 * i) for i in range(3)])
    photo_path, mask_path = tmp_path / "photo.png", tmp_path / "mask.png"
    photo.save(photo_path)
    hole = (20, 10, 60, 40)
    mask_path.write_bytes(mask_bytes((96, 64), hole))
    path, status = edit(app_url, [str(photo_path)], mask=handle_file(str(mask_path)), keep_outside_mask=True,
                        feather=0)
    assert status["status"] == "COMPLETED" and status["kept_outside_mask"] and status["feather"] == 0
    assert status["composite_note"] is None
    result = Image.open(path).convert("RGB")
    assert result.size == (96, 64)  # the photo's own size, not the model's 1536x1024
    kept, original = result.copy(), photo.copy()
    kept.paste((0, 0, 0), hole)
    original.paste((0, 0, 0), hole)
    assert kept.tobytes() == original.tobytes()
    assert result.crop(hole).tobytes() != photo.crop(hole).tobytes()  # the model's work, inside


def test_no_paint_means_no_mask():
    background = Image.new("RGBA", (1, 1), (1, 2, 3, 255))
    empty_layer = Image.new("RGBA", (50, 40), (0, 0, 0, 0))
    assert mask_from_editor({"background": background, "layers": [empty_layer], "composite": background}) is None
    assert mask_from_editor(None) is None


def test_a_failed_job_raises_with_the_detail_and_remedy(app_url, emulator, images):
    with pytest.raises(AppError) as caught:
        edit(app_url, images[:1], prompt="please #fail")
    assert "#fail" in str(caught.value) and "moderation=low" in str(caught.value)


def test_invalid_input_is_refused_before_anything_is_sent(app_url, emulator, images):
    with pytest.raises(ClientValidationError) as caught:
        edit(app_url, images[:1], prompt="  ", background="transparent", output_format="jpeg")
    assert "prompt" in str(caught.value) and "background" in str(caught.value)
    assert sum(emulator.calls.values()) == 0


def test_cancel_stops_polling_at_once(app, app_url, emulator, images):
    manager = app[0].service
    emulator.processing_seconds = 60
    job = Client(app_url, verbose=False).submit(prompt="x", images=[handle_file(images[0])], mask=None,
                                               api_name="/edit")
    assert wait_until(lambda: any(s["status"] == "PROCESSING" for _, s in job.outputs()))
    request_id = job.outputs()[-1][1]["request_id"]
    assert len(manager.live()) >= 1
    assert job.cancel()
    assert wait_until(lambda: len(manager.live()) == 0, timeout=5)
    polls_when_stopped = emulator.jobs[request_id].polls
    emulator.processing_seconds = 0.3
    edit(app_url, images[:1])  # another whole job, polled many times meanwhile
    assert emulator.jobs[request_id].polls == polls_when_stopped


def test_eight_sessions_run_at_the_same_time(app_url, emulator, images):
    emulator.processing_seconds = 1.0
    before = set(emulator.jobs)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: edit(app_url, images[:1]), range(8)))
    assert all(status["status"] == "COMPLETED" for _, status in results)
    ran = [emulator.jobs[s["request_id"]] for _, s in results if s["request_id"] not in before]
    assert len(ran) == 8
    # All eight were submitted before the first finished: none waited for another.
    assert max(j.submitted_at for j in ran) < min(j.completed_at for j in ran)


@pytest.fixture(scope="module")
def live_app(module_emulator):
    """The app pointed at the emulator as if it were Segmind, with a deployer key and visitor keys allowed."""
    settings = ClientSettings(api_base=module_emulator.url, storage_base=module_emulator.url, api_key=Secret(KEY),
                        poll_interval=0.05)
    demo, url = launch(Backend(settings, allow_visitor_keys=True))
    yield url
    demo.close()


def test_a_wrong_visitor_key_gets_the_401_advice(live_app, emulator, images):
    with pytest.raises(AppError) as caught:
        edit(live_app, images[:1], headers={"x-api-key": "wrong-visitor-key"})
    assert "API key" in str(caught.value) and "wrong-visitor-key" not in str(caught.value)
    assert set(emulator.received_keys) == {"wrong-visitor-key"}


def test_each_visitor_sends_only_their_own_key(live_app, emulator, images):
    emulator.key = "visitor-b-key"
    try:
        with pytest.raises(AppError):
            edit(live_app, images[:1], headers={"x-api-key": "visitor-a-key"})
        _, status = edit(live_app, images[:1], headers={"x-api-key": "visitor-b-key"})
    finally:
        emulator.key = KEY
    assert status["backend"] == "segmind"
    assert set(emulator.received_keys) == {"visitor-a-key", "visitor-b-key"}
    assert KEY not in emulator.received_keys


def test_without_a_visitor_key_the_deployer_key_is_used(live_app, emulator, images):
    _, status = edit(live_app, images[:1])
    assert status["backend"] == "segmind" and set(emulator.received_keys) == {KEY}


def test_the_page_states_the_backend(app_url):
    page = requests.get(app_url, timeout=10).text
    assert "Simulated results" in page and "emulator" in page


def test_edit_takes_no_mask_when_a_program_leaves_it_out(app_url, emulator, images):
    client = Client(app_url, verbose=False)
    mask_parameter = next(p for p in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
                          ["/edit"]["parameters"] if p["parameter_name"] == "mask")
    assert mask_parameter["parameter_has_default"] and mask_parameter["parameter_default"] is None
    _, status = client.predict(prompt="no mask at all", images=[handle_file(images[0])], api_name="/edit")
    assert status["status"] == "COMPLETED" and "mask" not in emulator.jobs[status["request_id"]].params


def test_the_page_says_where_runs_are_kept_and_the_footer_names_the_model_and_who_answers(app):
    demo, url = app
    page = requests.get(url, timeout=10).text
    model = schema.model(DEFAULT_MODEL)
    assert f"`{demo.history.root}` on this machine" in page
    assert f"[{model.label} · `{model.slug}`]({model.page_url})" in page and "built-in emulator" in page
    live = Backend(ClientSettings(api_key=Secret("sk-live")), allow_visitor_keys=False)
    assert copy.footer("gpt-image-2", live).endswith("answered by **Segmind's API**.")


def test_a_space_without_persistent_storage_says_its_runs_are_lost_at_a_restart(tmp_path):
    settings = AppSettings(output_dir=tmp_path / "outputs", storage=Storage.SPACE_EPHEMERAL)
    backend = Backend(ClientSettings())
    demo = build_app(backend, settings=settings)
    note = next(c["props"]["value"] for c in demo.config["components"] if c["props"].get("elem_id") == "storage-note")
    assert "lost when this Space restarts" in note and "`/data`" in note


def test_the_api_page_describes_edit_and_its_example_runs(app_url, emulator, images):
    client = Client(app_url, verbose=False)
    described = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/edit"]
    assert described["description"].startswith("Edit an image with GPT Image on Segmind")
    assert "(image_file, status)" in described["description"] and "x-api-key" in described["description"]
    snippet = requests.get(app_url + "gradio_api/info", timeout=10).json()["named_endpoints"]["/edit"][
        "code_snippets"]["python"]
    assert copy.EDIT_API_EXAMPLE_PROMPT in snippet and EXAMPLE_PHOTO in snippet
    # Run as the page prints it; only the sample photo comes from disk (this machine may be offline).
    printed = []
    exec(snippet.replace(EXAMPLE_PHOTO, images[0]), {"print": printed.append})
    image_file, status = printed[0]
    assert status["status"] == "COMPLETED" and status["backend"] == "emulator" and image_file
