"""The parameter schema: defaults from the model page, and validation of every parameter."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from components.api import schema

URL = "https://example.com/a.png"


def payload(**changes):
    body = schema.build_payload("make the sky pink", [URL])
    body.update(changes)
    return body


def issues_for(**changes):
    return {issue.param for issue in schema.validate(payload(**changes))}


def test_defaults_are_the_model_pages():
    assert schema.option_defaults() == {
        "size": "auto", "quality": "auto", "background": "opaque",
        "output_compression": 100, "output_format": "png", "moderation": "auto",
    }


def test_a_default_request_is_valid_and_leaves_out_an_absent_mask():
    body = payload()
    assert schema.validate(body) == []
    assert "mask" not in body


@pytest.mark.parametrize("name", [p.name for p in schema.OPTIONS if p.choices])
def test_every_choice_is_accepted_and_anything_else_refused(name):
    param = schema.PARAMS_BY_NAME[name]
    for choice in param.choices:
        extra = {"output_format": "png"} if name == "background" else {}
        assert schema.validate(payload(**{name: choice}, **extra)) == []
    assert issues_for(**{name: "bogus"}) == {name}
    assert issues_for(**{name: 3}) == {name}


@pytest.mark.parametrize("value", [0, 101, -5, "50", 50.5, True])
def test_output_compression_must_be_an_integer_from_1_to_100(value):
    assert issues_for(output_compression=value) == {"output_compression"}


@pytest.mark.parametrize("value", [1, 55, 100])
def test_output_compression_in_range_is_valid(value):
    assert issues_for(output_compression=value) == set()


def test_transparent_background_needs_a_format_with_alpha():
    (issue,) = schema.validate(payload(background="transparent", output_format="jpeg"))
    assert issue.param == "background" and "jpeg" in issue.message
    assert issues_for(background="transparent", output_format="webp") == set()


@pytest.mark.parametrize("prompt", ["", "   \n"])
def test_empty_prompt_is_refused(prompt):
    assert issues_for(prompt=prompt) == {"prompt"}


def test_prompt_over_32000_characters_is_refused_with_the_count():
    (issue,) = schema.validate(payload(prompt="x" * 32_001))
    assert issue.param == "prompt" and "32,001" in issue.message
    assert issues_for(prompt="x" * 32_000) == set()


def test_images_must_be_present_at_most_16_and_urls():
    assert issues_for(image_urls=[]) == {"image_urls"}
    assert issues_for(image_urls=[URL] * 17) == {"image_urls"}
    assert issues_for(image_urls=[URL] * 16) == set()
    for bad in ("file:///etc/passwd", "javascript:alert(1)", "data:text/html;base64,AAAA", "a.png"):
        assert issues_for(image_urls=[bad]) == {"image_urls"}, bad
    assert issues_for(image_urls=["data:image/png;base64,iVBORw0KGgo="]) == set()


def test_missing_required_and_unknown_parameters_are_named():
    assert {i.param for i in schema.validate({"prompt": "x"})} == {"image_urls"}
    assert issues_for(seed=3) == {"seed"}
    assert issues_for(mask="ftp://x/y.png") == {"mask"}


def test_estimated_cost_follows_quality_and_shape():
    assert schema.estimated_cost({"quality": "low", "size": "1024x1024"}) == 0.011
    assert schema.estimated_cost({"quality": "high", "size": "1536x1024"}) == 0.25
    assert schema.estimated_cost({"quality": "auto", "size": "auto"}) == 0.042


def test_no_other_module_restates_an_allowed_value():
    """Each allowed value is written once, in schema.py; other modules import it."""
    allowed = {c for p in schema.PARAMS for c in p.choices}
    offenders = []
    for path, tree in _modules(but="api/schema.py"):
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in allowed:
                offenders.append(f"{path}:{node.lineno} {node.value!r}")
    assert offenders == []


def test_no_other_module_restates_the_transient_statuses():
    """Which answers mean "not now" is written once, in api/constants.py (the transport retries them,
    the errors and the poller read `transient` from it)."""
    from components.api import constants, errors

    statuses = set(constants.TRANSIENT_STATUSES)
    classes = {cls.__name__ for cls in errors.STATUS_ERRORS.values() if cls.http_status in statuses}
    others = {cls.__name__ for cls in errors.STATUS_ERRORS.values()} - classes  # the status table names both
    offenders = []
    for path, tree in _modules(but="api/constants.py"):
        for node in ast.walk(tree):
            if isinstance(node, (ast.Set, ast.List, ast.Tuple)):
                numbers = {e.value for e in node.elts if isinstance(e, ast.Constant)} & statuses
                names = {e.attr if isinstance(e, ast.Attribute) else getattr(e, "id", None) for e in node.elts}
                if len(numbers) >= 2 or (len(names & classes) >= 2 and not names & others):
                    offenders.append(f"{path}:{node.lineno}")
    assert offenders == []


def _modules(but: str):
    """Every module of the app but one, parsed, by its path under components/."""
    root = Path(schema.__file__).parents[1]
    for path in sorted(root.rglob("*.py")):
        name = path.relative_to(root).as_posix()
        if name != but:
            yield name, ast.parse(path.read_text())
