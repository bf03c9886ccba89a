"""The model registry: each model's defaults from its page, and validation of every parameter."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from components.api import schema

URL = "https://example.com/a.png"
SEED = schema.model("gpt-image-1-edit")
GPT2 = schema.model("gpt-image-2")
ALL = pytest.mark.parametrize("model", list(schema.MODELS.values()), ids=list(schema.MODELS))


def payload(model=SEED, **changes):
    body = model.build_payload("make the sky pink", [URL])
    body.update(changes)
    return body


def issues_for(model=SEED, **changes):
    return {issue.param for issue in model.validate(payload(model, **changes))}


@ALL
def test_defaults_are_the_model_pages(model):
    assert model.option_defaults() == {
        "size": "auto", "quality": "auto", "background": "opaque",
        "output_compression": 100, "output_format": "png", "moderation": "auto",
    }


@ALL
def test_a_default_request_is_valid_and_in_the_models_shape(model):
    body = model.build_payload("make the sky pink", [URL], "https://example.com/mask.png")
    assert model.validate(body) == []
    if model.takes_references:
        assert body["image_urls"] == [URL] and body["mask"].endswith("mask.png") and "image" not in body
    else:
        assert body["image"] == URL and "image_urls" not in body and "mask" not in body
    assert "mask" not in model.build_payload("x", [URL])


@pytest.mark.parametrize("model, name", [(m, p.name) for m in schema.MODELS.values() for p in m.options
                                         if p.choices], ids=lambda v: getattr(v, "slug", v))
def test_every_choice_is_accepted_and_anything_else_refused(model, name):
    param = model.params_by_name[name]
    for choice in param.choices:
        extra = {"output_format": "png"} if name == "background" else {}
        assert model.validate(payload(model, **{name: choice}, **extra)) == []
    assert issues_for(model, **{name: "bogus"}) == {name}
    assert issues_for(model, **{name: 3}) == {name}


@ALL
def test_output_compression_follows_each_models_range(model):
    param = model.params_by_name["output_compression"]
    for value in (param.minimum, (param.minimum + param.maximum) // 2, param.maximum):
        assert issues_for(model, output_compression=value) == set()
    for value in (param.minimum - 1, param.maximum + 1, "50", 50.5, True):
        assert issues_for(model, output_compression=value) == {"output_compression"}


def test_compression_zero_is_gpt_image_2s_alone():
    assert issues_for(GPT2, output_compression=0) == set()
    assert issues_for(SEED, output_compression=0) == {"output_compression"}


@pytest.mark.parametrize("size", ["2048x1152", "1152x2048", "3840x2160", "1024x3072", "784x848", "3840x1280"])
def test_gpt_image_2_takes_custom_sizes_within_its_rules(size):
    assert issues_for(GPT2, size=size) == set()
    assert issues_for(SEED, size=size) == {"size"}  # the older models take their listed sizes only


@pytest.mark.parametrize("size, words", [
    ("2000x1000", "multiple of 16"), ("4096x2048", "at most 3840"), ("3840x1024", "aspect ratio"),
    ("512x512", "262,144 pixels"), ("3840x2176", "8,355,840 pixels"), ("big", "WIDTHxHEIGHT"),
    ("99999999999999x1", "WIDTHxHEIGHT"),
])
def test_a_custom_size_outside_the_rules_says_which_rule(size, words):
    (issue,) = GPT2.validate(payload(GPT2, size=size))
    assert issue.param == "size" and words in issue.message


@ALL
def test_transparent_background_needs_a_format_with_alpha(model):
    (issue,) = model.validate(payload(model, background="transparent", output_format="jpeg"))
    assert issue.param == "background" and "jpeg" in issue.message
    assert issues_for(model, background="transparent", output_format="webp") == set()


@pytest.mark.parametrize("prompt", ["", "   \n"])
@ALL
def test_empty_prompt_is_refused(model, prompt):
    assert issues_for(model, prompt=prompt) == {"prompt"}


def test_prompt_over_32000_characters_is_refused_with_the_count():
    (issue,) = SEED.validate(payload(prompt="x" * 32_001))
    assert issue.param == "prompt" and "32,001" in issue.message
    assert issues_for(prompt="x" * 32_000) == set()


def test_images_must_be_present_at_most_16_and_urls():
    assert issues_for(image_urls=[]) == {"image_urls"}
    assert issues_for(image_urls=[URL] * 17) == {"image_urls"}
    assert issues_for(image_urls=[URL] * 16) == set()
    for bad in ("file:///etc/passwd", "javascript:alert(1)", "data:text/html;base64,AAAA", "a.png"):
        assert issues_for(image_urls=[bad]) == {"image_urls"}, bad
    assert issues_for(image_urls=["data:image/png;base64,iVBORw0KGgo="]) == set()


def test_the_seeds_shape_sent_to_gpt_image_2_is_refused_by_name():
    """It would be worse than an error on Segmind: image_urls ignored, a text-to-image job billed."""
    body = SEED.build_payload("x", [URL], "https://example.com/m.png")
    assert {i.param for i in GPT2.validate(body)} == {"image_urls", "mask"}
    (issue,) = [i for i in GPT2.validate(body) if i.param == "image_urls"]
    assert "gpt-image-2" in issue.message
    assert GPT2.validate({"prompt": "x"}) == []  # its image is optional: without one it is text-to-image


def test_a_single_image_model_names_the_references_to_remove():
    problem = GPT2.image_count_problem(3)
    assert problem.param == "image" and "remove the other 2" in problem.message
    assert GPT2.image_count_problem(1) is None and SEED.image_count_problem(16) is None


def test_missing_required_and_unknown_parameters_are_named():
    assert {i.param for i in SEED.validate({"prompt": "x"})} == {"image_urls"}
    assert issues_for(seed=3) == {"seed"}
    assert issues_for(mask="ftp://x/y.png") == {"mask"}


def test_estimated_cost_follows_model_quality_and_shape():
    assert SEED.estimated_cost({"quality": "low", "size": "1024x1024"}) == 0.011
    assert SEED.estimated_cost({"quality": "high", "size": "1536x1024"}) == 0.25
    assert SEED.estimated_cost({"quality": "auto", "size": "auto"}) == 0.042
    mini = schema.model("gpt-image-1-edit-mini")
    assert mini.estimated_cost({"quality": "high", "size": "1024x1024"}) < SEED.estimated_cost(
        {"quality": "high", "size": "1024x1024"})
    # gpt-image-2 bills by output area: four times the pixels, four times the price.
    assert GPT2.estimated_cost({"quality": "high", "size": "2048x2048"}) == pytest.approx(
        4 * GPT2.estimated_cost({"quality": "high", "size": "1024x1024"}))


LANDSCAPE, PORTRAIT, SQUARE = (4032, 3024), (3024, 4032), (2000, 2000)


@pytest.mark.parametrize("slug", ["gpt-image-1-edit", "gpt-image-1.5-edit", "gpt-image-1-edit-mini"])
def test_auto_is_priced_at_the_size_the_first_image_s_shape_picks(slug):
    """A phone's landscape photo with `auto` comes out at 1536x1024, so it costs the oblong price."""
    model = schema.model(slug)
    square, oblong = model.pricing.per_quality["high"]
    auto = {"quality": "high", "size": "auto"}
    assert model.auto_size(LANDSCAPE) == (1536, 1024)
    assert model.estimated_cost(auto, LANDSCAPE) == oblong
    assert model.auto_size(PORTRAIT) == (1024, 1536)
    assert model.estimated_cost(auto, PORTRAIT) == oblong
    assert model.auto_size(SQUARE) == (1024, 1024)
    assert model.estimated_cost(auto, SQUARE) == square
    # No image to follow (or one whose size is not known): the square estimate, as before.
    assert model.auto_size(None) == (1024, 1024)
    assert model.estimated_cost(auto) == square
    # A size asked for is its own price, whatever the photo; no size given is the default, `auto`.
    assert model.estimated_cost({"quality": "high", "size": "1024x1024"}, LANDSCAPE) == square
    assert model.estimated_cost({"quality": "high"}, LANDSCAPE) == oblong


def test_gpt_image_2_auto_follows_the_photo_to_its_nearest_listed_size():
    medium = GPT2.pricing.per_quality["medium"][0]
    assert GPT2.auto_size(LANDSCAPE) == (1536, 1024)
    auto = {"quality": "medium", "size": "auto"}
    assert GPT2.estimated_cost(auto, LANDSCAPE) == pytest.approx(medium * 1.5, abs=1e-4)
    # 16:9 is listed twice (2048x1152 and 3840x2160): the smaller is the one picked.
    assert GPT2.auto_size((1920, 1080)) == (2048, 1152)
    assert GPT2.auto_size((1080, 1920)) == (1152, 2048)
    assert GPT2.auto_size(SQUARE) == (1024, 1024)
    assert GPT2.estimated_cost(auto) == medium


def test_auto_sizes_are_the_smallest_listed_size_of_each_shape():
    assert SEED.auto_sizes() == ((1024, 1024), (1536, 1024), (1024, 1536))
    assert GPT2.auto_sizes() == ((1024, 1024), (1536, 1024), (1024, 1536), (2048, 1152), (1152, 2048))


def test_output_size_is_the_size_asked_for_or_what_auto_resolves_to():
    assert SEED.output_size("1024x1536", LANDSCAPE) == (1024, 1536)
    assert SEED.output_size("auto", LANDSCAPE) == (1536, 1024)
    assert SEED.output_size(None, PORTRAIT) == (1024, 1536)
    assert SEED.output_size("huge", LANDSCAPE) is None
    assert SEED.estimated_cost({"quality": "low", "size": "huge"}, LANDSCAPE) == 0.011  # unknown: square


def test_every_model_names_a_known_successor_and_its_sources():
    for model in schema.MODELS.values():
        assert model.successor is None or model.successor in schema.MODELS
        assert model.sources and model.latency_prior > 0 and model.label
    assert schema.model().slug == schema.DEFAULT_MODEL
    with pytest.raises(schema.UnknownModelError, match="gpt-image-2"):
        schema.model("dall-e-2")


def test_options_carried_to_another_model_keep_what_it_allows():
    options = {**SEED.option_defaults(), "quality": "high", "size": "2048x1152", "output_compression": 0}
    assert SEED.adapt_options(options) == {**SEED.option_defaults(), "quality": "high"}
    assert GPT2.adapt_options(options)["size"] == "2048x1152"


def test_the_readme_table_names_every_model_with_its_compression_range():
    readme = (Path(schema.__file__).parents[2] / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("| ") and "`gpt-image" in line.split("|")[1]]
    for model in schema.MODELS.values():
        (row,) = [r for r in rows if f"(`{model.slug}`)" in r]
        compression = model.params_by_name["output_compression"]
        assert f"{compression.minimum}–{compression.maximum}" in row and ("| yes |" in row) == model.takes_mask


def test_no_other_module_restates_an_allowed_value():
    """Each allowed value is written once, in schema.py; other modules import it."""
    allowed = {c for m in schema.MODELS.values() for p in m.params for c in p.choices}
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
