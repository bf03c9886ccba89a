"""Answering in the shapes of a captured real run (`Emulator(replay=path)`).

A capture file (written by the client in capture mode, `SEGMIND_CAPTURE`) holds
Segmind's real answers. Replay takes each kind of answer it finds there (the
submit answer, the status answer per state, the result answer per state) as a
template: the emulator's own answer is poured into the template's key set.
- A key the template has and the emulator knows gets the emulator's value, in the
  template's shape where that matters (an `output` that was a list stays a list,
  a JSON string stays a JSON string, wrapped base64 stays wrapped).
- A key only the template has keeps the captured value (with the captured
  request id replaced by this job's).
- A key only the emulator has is left out: the real service did not send it.
Answers the capture has no example of keep the emulator's own shape; errors are
never replayed. The capture's format is capture.py's in components/api; its
truncation mark is matched here by text, since the emulator shares only the
schema with the client.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from components.emulator.shapes import b64

# Written by components/api/capture.py after the kept prefix of a shortened string.
TRUNCATED_MARK = "...[truncated by capture: "
OUTPUT_KEYS = ("output", "image", "image_url")

_SUBMIT = re.compile(r"/v2/(?!requests/)[^/]+")
_STATUS = re.compile(r"/v2/requests/(?P<id>[^/]+)/status")
_RESULT = re.compile(r"/v2/requests/(?P<id>[^/]+)|/v1/requests/(?P<old>[^/]+)")


@dataclass(frozen=True)
class Output:
    """The emulator's output in every form a template may ask for."""

    url: str
    data: bytes
    media_type: str


@dataclass
class Template:
    body: dict[str, Any]
    request_id: str | None


@dataclass
class ReplayTemplates:
    submit: Template | None = None
    status: dict[str, Template] = field(default_factory=dict)   # by the state the body names
    result: dict[str, Template] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> ReplayTemplates:
        """The first example of each kind of answer in a capture file; unreadable lines are skipped."""
        templates = cls()
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if not isinstance(record, dict) or record.get("type") != "exchange":
                continue
            response = record.get("response") or {}
            body = (response.get("body") or {}).get("json")
            if response.get("status") not in (200, 201, 202, 422) or not isinstance(body, dict):
                continue
            templates._add(str(record.get("method", "")).upper(), urlsplit(str(record.get("url", ""))).path, body)
        return templates

    def _add(self, method: str, path: str, body: dict[str, Any]) -> None:
        path = "/" + "/".join(part for part in path.split("/") if part)
        state = str(body.get("status", ""))
        if method == "POST" and _SUBMIT.fullmatch(path):
            self.submit = self.submit or Template(body, _text_or_none(body.get("request_id")))
            return
        if method != "GET":
            return
        for pattern, table in ((_STATUS, self.status), (_RESULT, self.result)):
            found = pattern.fullmatch(path)
            if found and state:
                request_id = next((group for group in found.groups() if group), None)
                table.setdefault(state, Template(body, request_id))
                return

    @property
    def empty(self) -> bool:
        return self.submit is None and not self.status and not self.result

    # Applying ------------------------------------------------------------------

    def submit_body(self, ours: dict[str, Any]) -> dict[str, Any]:
        return _pour(self.submit, ours, None)

    def status_body(self, ours: dict[str, Any], output: Output | None) -> dict[str, Any]:
        return _pour(self.status.get(str(ours.get("status"))), ours, output)

    def result_body(self, ours: dict[str, Any], output: Output | None) -> dict[str, Any]:
        return _pour(self.result.get(str(ours.get("status"))), ours, output)


def _text_or_none(value: Any) -> str | None:
    return str(value) if value else None


def _pour(template: Template | None, ours: dict[str, Any], output: Output | None) -> dict[str, Any]:
    if template is None:
        return ours
    our_id = str(ours.get("request_id") or "")
    return _fill(template.body, ours, output, template.request_id, our_id)


def _fill(template: dict[str, Any], ours: dict[str, Any], output: Output | None, old_id: str | None,
          new_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for key, sample in template.items():
        if key in OUTPUT_KEYS:
            if output is not None:
                body[key] = _output_like(sample, output)
            continue  # no output yet: a captured one must not leak into this answer
        if key in ours:
            body[key] = _adapt(sample, ours[key], output, old_id, new_id)
        else:
            body[key] = _renamed(sample, old_id, new_id)
    return body


def _adapt(sample: Any, ours: Any, output: Output | None, old_id: str | None, new_id: str) -> Any:
    if isinstance(sample, dict) and isinstance(ours, dict):
        return _fill(sample, ours, output, old_id, new_id)
    if isinstance(sample, list) and isinstance(ours, list) and sample and ours:
        return [_adapt(sample[0], ours[0], output, old_id, new_id)]
    return ours


def _renamed(sample: Any, old_id: str | None, new_id: str) -> Any:
    """A captured value kept as it was, but naming this job instead of the captured one."""
    if isinstance(sample, str):
        return sample.replace(old_id, new_id) if old_id and new_id else sample
    if isinstance(sample, list):
        return [_renamed(item, old_id, new_id) for item in sample]
    if isinstance(sample, dict):
        return {key: _renamed(value, old_id, new_id) for key, value in sample.items()}
    return sample


def _output_like(sample: Any, output: Output) -> Any:
    """This job's output in the shape of a captured one."""
    if isinstance(sample, list):
        return [_output_like(sample[0], output)] if sample else [output.url]
    if isinstance(sample, dict):
        return {key: (_output_like(value, output) if key in ("url", "data", "base64", "b64_json") + OUTPUT_KEYS
                      else value) for key, value in sample.items()}
    if not isinstance(sample, str):
        return output.url
    head = sample.split(TRUNCATED_MARK, 1)[0].strip()
    if head.startswith(("http://", "https://")):
        return output.url
    if head.startswith("data:"):
        return f"data:{output.media_type};base64,{base64.b64encode(output.data).decode('ascii')}"
    if head[:1] in ("[", "{", '"'):
        try:
            return json.dumps(_output_like(json.loads(head), output))
        except ValueError:
            return json.dumps([output.url])
    return b64(output.data, wrapped="\n" in head)


__all__ = ["Output", "ReplayTemplates", "TRUNCATED_MARK"]
