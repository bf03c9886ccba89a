"""Generated code stays correct whatever the prompt and file names say, and runs as written."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import zipfile

import pytest
from PIL import Image

from components.api.constants import DEFAULT_API_BASE, DEFAULT_STORAGE_BASE
from components.app.history import HistoryStore, input_names
from components.app.snippets import SnippetRequest, curl, python_requests, python_sdk
from components.emulator import Emulator
from components.emulator.shapes import OutputShape
from tests.conftest import KEY, edit_inputs, mask_bytes, owner_id, png_bytes

HOSTILE = "Line one\nwith $(rm -rf ~) `uname` \\ 'single' \"double\" and __VAR_FILE_1_URL__\nJSON"


def request(**changes):
    base = dict(prompt=HOSTILE, images=["café photo.png", "https://example.com/a b.png", "it's.png"], mask="m ask.png",
                options={"quality": "high"})
    base.update(changes)
    return SnippetRequest(**base)


def test_curl_snippet_is_valid_bash_and_quotes_every_file_name():
    code = curl(request())
    assert subprocess.run(["bash", "-n"], input=code, text=True, capture_output=True).returncode == 0
    assert "upload 'café photo.png'" in code and "upload 'm ask.png'" in code and "'it'\"'\"'s.png'" in code


def test_curl_body_keeps_the_prompt_as_written(tmp_path):
    code = curl(request(images=["https://example.com/x.png"], mask=None))
    body = code.split("<<JSON\n", 1)[1].split("\nJSON\n", 1)[0]
    # What bash would feed curl: expand the heredoc with `cat`, nothing executed.
    script = tmp_path / "body.sh"
    script.write_text(f"cat <<JSON\n{body}\nJSON\n")
    import json
    printed = subprocess.run(["bash", str(script)], text=True, capture_output=True, check=True).stdout
    assert json.loads(printed)["prompt"] == HOSTILE


def test_python_snippets_compile_with_any_prompt():
    for make in (python_sdk, python_requests):
        compile(make(request()), "snippet", "exec")


# Executed against a running emulator -------------------------------------------------------------------------

SHAPES = [shape.value for shape in OutputShape]  # every shape Segmind's models put their image in

REMOTE = "https://example.com/remote.png"  # passed through as a URL; nothing fetches it
FLAVOURS = {"sdk": python_sdk, "requests": python_requests, "curl": curl}
# Anything not on loopback goes to a closed local port: a snippet that tried Segmind itself would fail here,
# never reach the internet.
NOWHERE = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def emulator():
    with Emulator(key=KEY, queue_seconds=0.02, processing_seconds=0.1) as emu:
        yield emu


@pytest.fixture
def reader(tmp_path):
    """A run kept by the app, and a reader's folder holding that run's zip, extracted."""
    store = HistoryStore(tmp_path / "history")
    inputs = edit_inputs(HOSTILE, [png_bytes((64, 48), (200, 40, 40), fmt="JPEG"), png_bytes((32, 32), (40, 200, 40)),
                                   REMOTE], mask_bytes((64, 48)), {"quality": "low", "output_format": "webp",
                                                                  "output_compression": 70})
    record = store.create(owner=owner_id("snippets"), inputs=inputs)
    archive = store.zip_runs([record], tmp_path / "run.zip")
    folder = tmp_path / "reader"
    with zipfile.ZipFile(archive) as opened:
        for name in opened.namelist():
            target = folder / name.split("/", 1)[1]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(opened.read(name))
    return record, folder


def snippet_for(record, emulator=None, **changes) -> SnippetRequest:
    hosts = {"api_base": emulator.url, "storage_base": emulator.url} if emulator else {}
    return SnippetRequest(**{"prompt": record.prompt, "images": record.inputs, "mask": record.mask,
                             "options": record.options, **hosts, **changes})


def reader_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGMIND_") and "proxy" not in k.lower()}
    proxies = {name: NOWHERE for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                                          "all_proxy")}
    return {**env, **proxies, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
            "SEGMIND_API_KEY": KEY, **extra}


def execute(flavour: str, code: str, folder, env: dict[str, str]) -> subprocess.CompletedProcess:
    if flavour == "curl":
        missing = [tool for tool in ("curl", "jq", "base64") if shutil.which(tool) is None]
        if missing:
            pytest.skip(f"the curl snippet needs {', '.join(missing)}, not installed on this machine")
        script, command = folder / "snippet.sh", ["bash", "snippet.sh"]
    else:
        script, command = folder / "snippet.py", [sys.executable, "snippet.py"]
    script.write_text(code)
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=120)


def new_job(emulator, before: set[str]):
    (request_id,) = set(emulator.jobs) - before
    return emulator.jobs[request_id]


def test_snippets_name_local_files_as_the_run_folder_and_zip_do(reader):
    """image-1.<ext> the edited image, image-2.<ext>… the references in order, mask.png the mask; URLs as given."""
    record, folder = reader
    assert record.inputs == ["image-1.jpeg", "image-2.png", REMOTE] and record.mask == "mask.png"
    assert {"image-1.jpeg", "image-2.png", "mask.png"} <= {p.name for p in folder.iterdir()}
    for make in FLAVOURS.values():
        code = make(snippet_for(record))
        for name in ("image-1.jpeg", "image-2.png", "mask.png"):
            assert f"upload({name!r})" in code or f"upload {name}" in code, (make.__name__, name)
        assert REMOTE in code


def test_input_names_follow_the_order_sent():
    inputs = edit_inputs("x", [REMOTE, png_bytes(fmt="JPEG"), png_bytes()], None)
    assert input_names(inputs) == ([REMOTE, "image-2.jpeg", "image-3.png"], None)


# The SDK flavour reads outputs with the same code as the requests one: two shapes are enough for it.
RUNS = [(flavour, shape) for flavour in ("requests", "curl") for shape in SHAPES] + \
    [("sdk", "url"), ("sdk", "data_uri")]


@pytest.mark.parametrize(("flavour", "shape"), RUNS)
def test_each_snippet_sends_the_same_request_and_saves_the_image(emulator, reader, flavour, shape):
    """Run as a reader would (files from the run's zip, the key in the environment), whatever shape the output has."""
    record, folder = reader
    emulator.output_shape = shape
    before = set(emulator.jobs)
    try:
        done = execute(flavour, FLAVOURS[flavour](snippet_for(record, emulator)), folder, reader_env())
    finally:
        emulator.output_shape = "url"
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    job = new_job(emulator, before)
    # Exactly the request the form describes: the prompt as written, the files as kept, in order, then the URL.
    assert job.params["prompt"] == HOSTILE and job.params["quality"] == "low" and job.params["output_compression"] == 70
    uploaded = [emulator.files[url.split(emulator.url + "/", 1)[1]].data for url in job.params["image_urls"][:2]]
    assert uploaded == [(folder / "image-1.jpeg").read_bytes(), (folder / "image-2.png").read_bytes()]
    assert job.params["image_urls"][2] == REMOTE
    assert emulator.files[job.params["mask"].split(emulator.url + "/", 1)[1]].data == (folder / "mask.png").read_bytes()
    # The result is saved next to the inputs, named after the model and the request id.
    saved = folder / f"gpt-image-1-edit_{job.request_id}.webp"
    assert saved.is_file(), sorted(p.name for p in folder.iterdir())
    with Image.open(io.BytesIO(saved.read_bytes())) as image:
        image.load()
        assert image.format == "WEBP" and image.size[0] > 0
    assert saved.name in done.stdout


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_code_written_for_segmind_runs_against_the_emulator_with_two_variables(emulator, reader, flavour):
    """No hand edits: SEGMIND_API_BASE and SEGMIND_STORAGE_BASE move both the API and the uploads.

    The SDK's uploads read `Files.STORAGE_BASE_URL`, not `base_url`: unpatched, they would head for Segmind.
    """
    record, folder = reader
    request = snippet_for(record)
    assert (request.api_base, request.storage_base) == (DEFAULT_API_BASE, DEFAULT_STORAGE_BASE)
    before = set(emulator.jobs)
    done = execute(flavour, FLAVOURS[flavour](request), folder,
                   reader_env(SEGMIND_API_BASE=emulator.url, SEGMIND_STORAGE_BASE=emulator.url))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    job = new_job(emulator, before)
    assert (folder / f"gpt-image-1-edit_{job.request_id}.webp").is_file()


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_failed_job_says_why_and_saves_nothing(emulator, reader, flavour):
    record, folder = reader
    done = execute(flavour, FLAVOURS[flavour](snippet_for(record, emulator, prompt="please #fail")), folder,
                   reader_env())
    assert done.returncode != 0 and "#fail" in done.stdout + done.stderr
    assert not list(folder.glob("gpt-image-1-edit_*"))
