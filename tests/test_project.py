"""The project's own files: README example, Space front matter, Spacefile, set-up commands."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from gradio_client import Client

from components.app.backend import Backend
from components.api.config import ClientSettings
from components.emulator import Emulator
from components.ui import build_app, launch_options
from tests.conftest import KEY

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def pinned(name: str) -> str:
    """The version requirements.txt pins `name` at, extras or not (`gradio[mcp]==6.31.0`)."""
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if re.match(rf"{re.escape(name)}(\[[\w,]+\])?==", line):
            return line.split("==", 1)[1].strip()
    raise AssertionError(f"{name} is not pinned")


def test_readme_front_matter_describes_a_gradio_space():
    front = yaml.safe_load(README.split("---", 2)[1])
    assert front["sdk"] == "gradio" and front["app_file"] == "app.py"
    assert str(front["sdk_version"]) == pinned("gradio")


def test_the_space_card_has_a_description_tags_and_a_small_thumbnail_from_this_repository():
    front = yaml.safe_load(README.split("---", 2)[1])
    assert 0 < len(front["short_description"]) <= 60
    assert {"image-editing", "gpt-image", "segmind", "gradio", "inpainting"} <= set(front["tags"])
    # The Hub takes a URL: the Space's own copy of a file committed here.
    path = re.fullmatch(r"https://huggingface\.co/spaces/[^/]+/[^/]+/resolve/main/(.+\.png)", front["thumbnail"])
    thumbnail = ROOT / path.group(1)
    assert thumbnail.is_file() and thumbnail.stat().st_size < 200_000


def test_readme_names_the_two_commands_and_ci_runs_the_test_one():
    assert "make run" in README and "make test" in README
    ci = (ROOT / ".ci" / "run").read_text()
    assert [line for line in ci.splitlines() if line and not line.startswith(("#", "set ", "cd "))] == ["make test"]


def test_spacefile_is_a_valid_v0_python_micro_with_the_key_as_a_preset():
    spacefile = yaml.safe_load((ROOT / "Spacefile").read_text())
    assert spacefile["v"] == 0
    (micro,) = spacefile["micros"]
    assert micro["engine"].startswith("python") and "app.py" in micro["run"]
    assert "SEGMIND_API_KEY" in [entry["name"] for entry in micro["presets"]["env"]]


def test_the_readme_edit_example_works_as_written(monkeypatch):
    example = re.search(r"## API for programs.*?```python\n(.*?)```", README, re.S).group(1)
    with Emulator(key=KEY, queue_seconds=0.05, processing_seconds=0.2) as emulator:
        demo = build_app(Backend(ClientSettings(poll_interval=0.05), emulator=emulator))
        _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **launch_options())
        try:
            monkeypatch.chdir(ROOT)
            printed = []
            namespace = {"print": lambda *args: printed.append(args),
                         "Client": lambda _url, **kw: Client(url, verbose=False, **kw)}
            exec(compile(example.replace("from gradio_client import Client, handle_file",
                                         "from gradio_client import handle_file"), "README", "exec"), namespace)
        finally:
            demo.close()
    image_file, state, request_id, backend = printed[0]
    assert Path(image_file).suffix == ".webp" and state == "COMPLETED" and backend == "emulator"
    assert request_id in emulator.jobs
