"""Generated code stays correct whatever the prompt and file names say."""

from __future__ import annotations

import subprocess

from components.app.snippets import SnippetRequest, curl, python_requests, python_sdk

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
