"""Ready-to-run code that sends exactly the request the form describes.

Three flavours: the vendor's Python SDK, plain `requests` (submit + poll) and
`curl`. The key only ever appears as `os.environ["SEGMIND_API_KEY"]` or
`$SEGMIND_API_KEY`. Local images are named as files the reader has (and
uploaded first, as the app does); URLs are passed through.
"""

from __future__ import annotations

import json
import secrets
import shlex
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from components.api import schema
from components.api.constants import DEFAULT_API_BASE, DEFAULT_STORAGE_BASE, RESULT_RETENTION


@dataclass(frozen=True)
class SnippetRequest:
    prompt: str
    images: Sequence[str]            # file paths or http(s) URLs, in order
    mask: str | None
    options: Mapping[str, Any]
    model: str = schema.MODEL_SLUG
    api_base: str = DEFAULT_API_BASE
    storage_base: str = DEFAULT_STORAGE_BASE

    def ordered_options(self) -> list[tuple[str, Any]]:
        return [(p.name, self.options.get(p.name, p.default)) for p in schema.OPTIONS]

    @property
    def local_files(self) -> list[str]:
        return [f for f in [*self.images, self.mask] if f and not _is_url(f)]


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def _python_ref(value: str, upload_call: str) -> str:
    return repr(value) if _is_url(value) else f"{upload_call}({value!r})"


def _python_payload(request: SnippetRequest, upload_call: str, indent: str) -> str:
    lines = [f"{indent}prompt={request.prompt!r},",
             f"{indent}image_urls=[{', '.join(_python_ref(i, upload_call) for i in request.images)}],"]
    if request.mask:
        lines.append(f"{indent}mask={_python_ref(request.mask, upload_call)},")
    lines += [f"{indent}{name}={value!r}," for name, value in request.ordered_options()]
    return "\n".join(lines)


def python_sdk(request: SnippetRequest) -> str:
    head = [
        '# pip install "segmind==1.3.0"   and   export SEGMIND_API_KEY=...',
        "import os",
        "",
        "import segmind",
    ]
    if request.local_files and request.storage_base != DEFAULT_STORAGE_BASE:
        head.append("from segmind.files import Files")
    head.append("")
    base = "" if request.api_base == DEFAULT_API_BASE else f", base_url={request.api_base + '/v1'!r}"
    head.append(f'client = segmind.SegmindClient(api_key=os.environ["SEGMIND_API_KEY"]{base})')
    if request.local_files:
        if request.storage_base != DEFAULT_STORAGE_BASE:
            head.append(f"Files.STORAGE_BASE_URL = {request.storage_base!r}  # the SDK's upload host")
        head += ["", "", "def upload(path):",
                 '    """Store a local image with Segmind; its URL can go in image_urls or mask."""',
                 '    return client.files.upload(path)["file_urls"][0]', "", ""]
    body = [
        f"job = client.submit_async(\n    {request.model!r},",
        _python_payload(request, "upload", "    "),
        ")",
        f'print("request id:", job.request_id)  # {RESULT_RETENTION.lower()}',
        "result = job.wait(timeout=600, interval=1.0)  # raises InferenceFailed / InferenceTimeout",
        'print(result["status"], result["output"], result["metrics"])',
    ]
    return "\n".join(head + body) + "\n"


def python_requests(request: SnippetRequest) -> str:
    lines = [
        "# pip install requests   and   export SEGMIND_API_KEY=...",
        "import base64",
        "import mimetypes",
        "import os",
        "import time",
        "",
        "import requests",
        "",
        f"API = {request.api_base!r}",
        f"STORAGE = {request.storage_base!r}",
        'HEADERS = {"x-api-key": os.environ["SEGMIND_API_KEY"]}',
        "TIMEOUT = (5, 60)  # seconds to connect, to read",
        "",
        "",
    ]
    if request.local_files:
        lines += [
            "def upload(path):",
            '    """Store a local image with Segmind; its URL can go in image_urls or mask."""',
            '    kind = mimetypes.guess_type(path)[0] or "image/png"',
            '    with open(path, "rb") as file:',
            '        data_url = f"data:{kind};base64," + base64.b64encode(file.read()).decode()',
            '    answer = requests.post(f"{STORAGE}/upload-asset", json={"data_urls": [data_url]},',
            "                           headers=HEADERS, timeout=TIMEOUT)",
            "    answer.raise_for_status()",
            "    body = answer.json()",
            '    return (body.get("file_urls") or body.get("urls"))[0]',
            "",
            "",
        ]
    lines += [
        "payload = dict(",
        _python_payload(request, "upload", "    "),
        ")",
        "# A submit starts a paid job: never retry it blindly.",
        f'submitted = requests.post(f"{{API}}/v2/{request.model}", json=payload, headers=HEADERS, timeout=TIMEOUT)',
        "submitted.raise_for_status()",
        "job = submitted.json()",
        f'print("request id:", job["request_id"])  # {RESULT_RETENTION.lower()}',
        "while True:",
        '    status = requests.get(job["status_url"], headers=HEADERS, timeout=TIMEOUT).json()',
        '    if status["status"] in ("COMPLETED", "FAILED"):  # FAILED comes with HTTP 422 and an "error"',
        "        break",
        "    time.sleep(1)",
        'result = requests.get(job["response_url"], headers=HEADERS, timeout=TIMEOUT).json()',
        'print(result["status"], result.get("output") or result.get("error"), result.get("metrics"))',
    ]
    return "\n".join(lines) + "\n"


def _shell_variable(index: int) -> str:
    return f"FILE_{index}_URL"


def curl(request: SnippetRequest) -> str:
    lines = [
        "#!/usr/bin/env bash",
        "# Needs curl, base64 and jq.   export SEGMIND_API_KEY=...",
        "set -euo pipefail",
        f"API={request.api_base}",
        f"STORAGE={request.storage_base}",
        "",
    ]
    variables: dict[str, str] = {}
    if request.local_files:
        lines += [
            "upload() {  # store a local image with Segmind; prints its URL",
            '  local kind; kind=$(file --brief --mime-type "$1" 2>/dev/null || echo image/png)',
            '  printf \'{"data_urls": ["data:%s;base64,%s"]}\' "$kind" "$(base64 -w0 "$1")" |',
            '    curl -sS --fail-with-body --connect-timeout 5 --max-time 60 -X POST "$STORAGE/upload-asset" \\',
            '      -H "x-api-key: $SEGMIND_API_KEY" -H "Content-Type: application/json" --data-binary @- |',
            "    jq -r '(.file_urls // .urls)[0]'",
            "}",
        ]
        for index, path in enumerate(dict.fromkeys(request.local_files), start=1):
            variables[path] = _shell_variable(index)
            lines.append(f"{_shell_variable(index)}=$(upload {shlex.quote(path)})")
        lines.append("")

    marker = secrets.token_hex(8)  # a placeholder no prompt can already contain

    def ref(value: str) -> str:
        return f"__{marker}_{variables[value]}__" if value in variables else value

    payload: dict[str, Any] = {"prompt": request.prompt, "image_urls": [ref(i) for i in request.images]}
    if request.mask:
        payload["mask"] = ref(request.mask)
    payload.update(request.ordered_options())
    body = json.dumps(payload, indent=2, ensure_ascii=False)
    # The body goes through an unquoted heredoc so the upload variables expand: escape the rest.
    body = body.replace("\\", "\\\\").replace("$", "\\$").replace("`", "\\`")
    for variable in variables.values():
        body = body.replace(f"__{marker}_{variable}__", f"${{{variable}}}")
    lines += [
        "# A submit starts a paid job: never retry it blindly.",
        f'JOB=$(curl -sS --fail-with-body --connect-timeout 5 --max-time 60 -X POST "$API/v2/{request.model}" \\',
        '  -H "x-api-key: $SEGMIND_API_KEY" -H "Content-Type: application/json" --data-binary @- <<JSON',
        body,
        "JSON",
        ")",
        f'echo "request id: $(echo "$JOB" | jq -r .request_id)"  # {RESULT_RETENTION.lower()}',
        "while true; do",
        '  STATE=$(curl -sS --connect-timeout 5 --max-time 30 -H "x-api-key: $SEGMIND_API_KEY" \\',
        "    \"$(echo \"$JOB\" | jq -r .status_url)\" | jq -r .status)",
        '  case "$STATE" in COMPLETED|FAILED) break ;; esac',
        "  sleep 1",
        "done",
        'curl -sS --connect-timeout 5 --max-time 30 -H "x-api-key: $SEGMIND_API_KEY" \\',
        '  "$(echo "$JOB" | jq -r .response_url)" | jq .',
    ]
    return "\n".join(lines) + "\n"


ALL = {"Python (Segmind SDK)": python_sdk, "Python (requests)": python_requests, "curl": curl}
