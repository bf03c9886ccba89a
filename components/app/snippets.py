"""Ready-to-run code that sends exactly the request the form describes.

Three flavours: the vendor's Python SDK, plain `requests` (submit + poll) and
`curl`. The key only ever appears as `os.environ["SEGMIND_API_KEY"]` or
`$SEGMIND_API_KEY`. Local images are named as files the reader has (and
uploaded first, as the app does); URLs are passed through. Each one saves the
result as `<model>_<request id>.<format>`, whatever shape the output has.

The hosts default to the app's own (so code copied from an app on the
emulator runs against it unchanged); `SEGMIND_API_BASE` and
`SEGMIND_STORAGE_BASE` in the reader's environment override them.
"""

from __future__ import annotations

import json
import secrets
import shlex
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from components.api import schema
from components.api.constants import DEFAULT_API_BASE, DEFAULT_STORAGE_BASE, RESULT_RETENTION
from components.api.output import ITEM_KEYS

# Where a result may put its image, in the order the app's own client tries them.
JQ_ITEM_KEYS = ", ".join(f".{key}" for key in ITEM_KEYS)


@dataclass(frozen=True)
class SnippetRequest:
    prompt: str
    images: Sequence[str]            # file paths or http(s) URLs, in order
    mask: str | None
    options: Mapping[str, Any]
    model: str = schema.DEFAULT_MODEL
    api_base: str = DEFAULT_API_BASE
    storage_base: str = DEFAULT_STORAGE_BASE

    @property
    def entry(self) -> schema.Model:
        return schema.model(self.model)

    def ordered_options(self) -> list[tuple[str, Any]]:
        return [(p.name, self.options.get(p.name, p.default)) for p in self.entry.options]

    @property
    def sent_images(self) -> list[str]:
        """The images the model takes, in order (a one-image model takes the photo alone)."""
        return list(self.images[: self.entry.max_images])

    @property
    def sent_mask(self) -> str | None:
        return self.mask if self.entry.takes_mask else None

    def payload(self, ref: Callable[[str], Any]) -> dict[str, Any]:
        """The request body in the model's shape, each image and the mask written as `ref` says."""
        mask = ref(self.sent_mask) if self.sent_mask else None
        return self.entry.build_payload(self.prompt, [ref(i) for i in self.sent_images], mask,
                                        **dict(self.ordered_options()))

    @property
    def local_files(self) -> list[str]:
        return [f for f in [*self.sent_images, self.sent_mask] if f and not _is_url(f)]


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


class _Code(str):
    """Python source that goes into a snippet as it is (an upload call), not as a string literal."""

    def __repr__(self) -> str:
        return str(self)


def _python_payload(request: SnippetRequest, upload_call: str, indent: str) -> str:
    def ref(value: str) -> str:
        return value if _is_url(value) else _Code(f"{upload_call}({value!r})")

    return "\n".join(f"{indent}{name}={value!r}," for name, value in request.payload(ref).items())


def _output_extension(request: SnippetRequest) -> str:
    return str(request.options.get("output_format") or request.entry.params_by_name["output_format"].default)


def _python_save(request: SnippetRequest) -> list[str]:
    """`save_output(body, stem)`: the first output image to `<stem>.<ext>`, whatever shape the body has."""
    return [
        "# Where models put their image: a URL, a list of them, a JSON list inside a string, base64, a data URI.",
        f"IMAGE_KEYS = {ITEM_KEYS!r}",
        "",
        "",
        "def first_image(value, depth=0):",
        "    if depth > 4:",
        "        return None",
        "    if isinstance(value, str):",
        "        text = value.strip()",
        "        if text[:1] in ('[', '{', '\"'):",
        "            try:",
        "                return first_image(json.loads(text), depth + 1)",
        "            except ValueError:",
        "                return None",
        "        return text or None",
        "    if isinstance(value, list):",
        "        return next((found for item in value if (found := first_image(item, depth + 1))), None)",
        "    if isinstance(value, dict):",
        "        return next((found for key in IMAGE_KEYS if (found := first_image(value.get(key), depth + 1))), None)",
        "    return None",
        "",
        "",
        "def save_output(body, stem):",
        '    """Save the first output image as <stem>.<format>; returns the file name."""',
        "    output = first_image(body)",
        "    if output is None:",
        '        raise SystemExit(f"the result has no output image: {body}")',
        '    if output.startswith(("http://", "https://")):',
        "        data = download(output)",
        "    else:",
        '        data = base64.b64decode("".join(output.split(",", 1)[-1].split()))',
        f'    path = re.sub(r"[^A-Za-z0-9_.-]", "_", stem) + {"." + _output_extension(request)!r}',
        '    with open(path, "wb") as file:',
        "        file.write(data)",
        "    return path",
        "",
        "",
    ]


def _python_hosts(request: SnippetRequest) -> list[str]:
    return [
        "# The hosts this app was set up with; SEGMIND_API_BASE / SEGMIND_STORAGE_BASE point the code elsewhere.",
        f'API_BASE = os.environ.get("SEGMIND_API_BASE", {request.api_base!r})',
        f'STORAGE_BASE = os.environ.get("SEGMIND_STORAGE_BASE", {request.storage_base!r})',
        f"MODEL = {request.model!r}",
    ]


def python_sdk(request: SnippetRequest) -> str:
    head = [
        '# pip install "segmind==1.3.0"   and   export SEGMIND_API_KEY=...',
        "import base64",
        "import json",
        "import os",
        "import re",
        "import urllib.request",
        "",
        "import segmind",
    ]
    if request.local_files:
        head.append("from segmind.files import Files")
    head += ["", *_python_hosts(request), "",
             'client = segmind.SegmindClient(api_key=os.environ["SEGMIND_API_KEY"], base_url=API_BASE + "/v1")']
    if request.local_files:
        head += [
            "# The SDK uploads to Files.STORAGE_BASE_URL, read from the class (`client.files` is a new Files",
            "# each time): set it there, or uploads go to Segmind whatever base_url says.",
            "Files.STORAGE_BASE_URL = STORAGE_BASE",
            "", "",
            "def upload(path):",
            '    """Store a local image with Segmind; its URL goes in the request."""',
            '    return client.files.upload(path)["file_urls"][0]',
        ]
    head += [
        "", "",
        "def download(url):",
        "    with urllib.request.urlopen(url, timeout=120) as answer:  # output URLs need no key",
        "        return answer.read()",
        "", "",
        *_python_save(request),
    ]
    body = [
        "job = client.submit_async(\n    MODEL,",
        _python_payload(request, "upload", "    "),
        ")",
        f'print("request id:", job.request_id)  # {RESULT_RETENTION.lower()}',
        "result = job.wait(timeout=600, interval=1.0)  # raises segmind.InferenceFailed / InferenceTimeout",
        'print(result["status"], result.get("metrics"))',
        'print("saved", save_output(result, f"{MODEL}_{job.request_id}"))',
    ]
    return "\n".join(head + body) + "\n"


def python_requests(request: SnippetRequest) -> str:
    lines = [
        "# pip install requests   and   export SEGMIND_API_KEY=...",
        "import base64",
        "import json",
        "import mimetypes",
        "import os",
        "import re",
        "import time",
        "",
        "import requests",
        "",
        *_python_hosts(request),
        'HEADERS = {"x-api-key": os.environ["SEGMIND_API_KEY"]}',
        "TIMEOUT = (5, 60)  # seconds to connect, to read",
        "",
        "",
    ]
    if request.local_files:
        lines += [
            "def upload(path):",
            '    """Store a local image with Segmind; its URL goes in the request."""',
            '    kind = mimetypes.guess_type(path)[0] or "image/png"',
            '    with open(path, "rb") as file:',
            '        data_url = f"data:{kind};base64," + base64.b64encode(file.read()).decode()',
            '    answer = requests.post(f"{STORAGE_BASE}/upload-asset", json={"data_urls": [data_url]},',
            "                           headers=HEADERS, timeout=TIMEOUT)",
            "    answer.raise_for_status()",
            "    body = answer.json()",
            '    return (body.get("file_urls") or body.get("urls"))[0]',
            "",
            "",
        ]
    lines += [
        "def download(url):",
        "    answer = requests.get(url, timeout=TIMEOUT)  # output URLs need no key",
        "    answer.raise_for_status()",
        "    return answer.content",
        "",
        "",
        *_python_save(request),
        "payload = dict(",
        _python_payload(request, "upload", "    "),
        ")",
        "# A submit starts a paid job: never retry it blindly.",
        'submitted = requests.post(f"{API_BASE}/v2/{MODEL}", json=payload, headers=HEADERS, timeout=TIMEOUT)',
        "submitted.raise_for_status()",
        "job = submitted.json()",
        f'print("request id:", job["request_id"])  # {RESULT_RETENTION.lower()}',
        "while True:",
        '    status = requests.get(job["status_url"], headers=HEADERS, timeout=TIMEOUT).json()',
        '    if status["status"] in ("COMPLETED", "FAILED"):  # FAILED comes with HTTP 422 and an "error"',
        "        break",
        "    time.sleep(1)",
        'result = requests.get(job["response_url"], headers=HEADERS, timeout=TIMEOUT).json()',
        'if result.get("status") != "COMPLETED":',
        '    raise SystemExit(f"{result.get(\'status\')}: {result.get(\'error\')}")',
        'print(result["status"], result.get("metrics"))',
        'print("saved", save_output(result, f"{MODEL}_{job[\'request_id\']}"))',
    ]
    return "\n".join(lines) + "\n"


def _shell_variable(index: int) -> str:
    return f"FILE_{index}_URL"


def curl(request: SnippetRequest) -> str:
    lines = [
        "#!/usr/bin/env bash",
        "# Needs curl, base64 and jq.   export SEGMIND_API_KEY=...",
        "set -euo pipefail",
        "# The hosts this app was set up with; SEGMIND_API_BASE / SEGMIND_STORAGE_BASE point the code elsewhere.",
        f"DEFAULT_API={shlex.quote(request.api_base)}",
        f"DEFAULT_STORAGE={shlex.quote(request.storage_base)}",
        'API=${SEGMIND_API_BASE:-$DEFAULT_API}',
        'STORAGE=${SEGMIND_STORAGE_BASE:-$DEFAULT_STORAGE}',
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

    body = json.dumps(request.payload(ref), indent=2, ensure_ascii=False)
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
        'RESULT=$(curl -sS --connect-timeout 5 --max-time 60 -H "x-api-key: $SEGMIND_API_KEY" \\',
        '  "$(echo "$JOB" | jq -r .response_url)")',
        'if [ "$(echo "$RESULT" | jq -r .status)" != COMPLETED ]; then',
        '  echo "$RESULT" | jq -r \'"\\(.status): \\(.error // "no error given")"\' >&2',
        "  exit 1",
        "fi",
        'echo "$RESULT" | jq -c \'{status, metrics}\'',
        "# The first output image: a URL, a list of them, a JSON list inside a string, base64 or a data URI.",
        "OUTPUT=$(echo \"$RESULT\" | jq -r 'def refs: if type == \"string\" then (if test(\"^\\\\s*[\\\\[{\\\"]\")"
        " then (try (fromjson | refs) catch empty) else . end) elif type == \"array\" then (.[] | refs)"
        f" elif type == \"object\" then (({JQ_ITEM_KEYS})"
        " | select(. != null) | refs) else empty end; [refs | select(length > 0)] | first // empty')",
        f'OUT={shlex.quote(request.model + "_")}"$(echo "$JOB" | jq -r .request_id | tr -c \'A-Za-z0-9_.\\n-\' _)"'
        f"{shlex.quote('.' + _output_extension(request))}",
        'case "$OUTPUT" in',
        '  http://*|https://*) curl -sS --fail --connect-timeout 5 --max-time 120 -o "$OUT" "$OUTPUT" ;;  # no key needed',
        '  data:*) printf \'%s\' "${OUTPUT#*,}" | base64 -d > "$OUT" ;;  # base64 -d skips line breaks',
        '  "") echo "the result has no output image" >&2; exit 1 ;;',
        '  *) printf \'%s\' "$OUTPUT" | base64 -d > "$OUT" ;;',
        "esac",
        'echo "saved $OUT"',
    ]
    return "\n".join(lines) + "\n"


ALL = {"Python (Segmind SDK)": python_sdk, "Python (requests)": python_requests, "curl": curl}
