"""Property tests: any combination of parameters and input files gives a valid request or a
validation message naming what is wrong, and never a crash."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from components.api import schema
from components.media.images import EditRequest, check_request

ANY_VALUE = st.one_of(st.none(), st.booleans(), st.integers(-10, 200), st.floats(allow_nan=True),
                      st.text(max_size=12), st.lists(st.integers(), max_size=2))


def option_strategy(param: schema.Param):
    valid = st.sampled_from(param.choices) if param.choices else st.integers(param.minimum, param.maximum)
    return st.one_of(valid, valid, ANY_VALUE)  # mostly valid, sometimes anything at all


def custom_sizes():
    """WIDTHxHEIGHT sizes around gpt-image-2's rules: some inside, many just outside."""
    edge = st.integers(1, 260).map(lambda n: n * 16) | st.integers(1, 4200)
    return st.builds(lambda w, h: f"{w}x{h}", edge, edge)


def options_for(model: schema.Model):
    strategies = {p.name: option_strategy(p) for p in model.options}
    strategies["size"] = st.one_of(strategies["size"], custom_sizes())
    return st.fixed_dictionaries(strategies)


MODELS = st.sampled_from(list(schema.MODELS.values()))


@st.composite
def image_files(draw):
    kind = draw(st.sampled_from(["png", "jpeg", "webp", "gif", "garbage", "empty", "truncated", "url", "bad-url"]))
    if kind == "garbage":
        return draw(st.binary(min_size=1, max_size=64))
    if kind == "empty":
        return b""
    if kind == "url":
        return "https://example.com/" + draw(st.text("abc", min_size=1, max_size=5)) + ".png"
    if kind == "bad-url":
        return draw(st.sampled_from(["file:///etc/passwd", "javascript:alert(1)", "data:text/html;base64,AA==",
                                     "ftp://x/y.png"]))
    size = (draw(st.integers(1, 48)), draw(st.integers(1, 48)))
    mode = draw(st.sampled_from(["RGB", "RGBA", "L", "P"]))
    buffer = io.BytesIO()
    image = Image.new(mode, size)
    fmt = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "gif": "GIF", "truncated": "PNG"}[kind]
    (image.convert("RGB") if fmt == "JPEG" else image).save(buffer, format=fmt)
    data = buffer.getvalue()
    return data[: len(data) // 2] if kind == "truncated" else data


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), model=MODELS, prompt=st.text(max_size=60), images=st.lists(image_files(), max_size=18),
       mask=st.one_of(st.none(), image_files()))
def test_every_request_is_valid_or_names_its_problems(data, model, prompt, images, mask):
    options = data.draw(options_for(model))
    inputs, issues = check_request(EditRequest(prompt, images, mask, options, model=model.slug))
    known = set(model.params_by_name) | {"mask"}  # a mask is checked and kept even where it is not sent
    if issues:
        assert inputs is None
        assert all(issue.param in known and issue.message for issue in issues)
    else:
        stand_in = [f"https://example.com/{i}.png" for i in range(len(inputs.images))]
        payload = model.build_payload(prompt, stand_in, "https://example.com/m.png" if mask is not None else None,
                                      **options)
        assert model.validate(payload) == []
        assert 1 <= len(inputs.images) <= model.max_images and prompt.strip()
        size = schema.parse_size(options["size"])
        if size:  # a size the schema lets through is one the model's rules allow
            rule = model.size_rule
            assert options["size"] in model.pixel_sizes() or (rule and rule.problem(*size) is None)


@settings(max_examples=300, deadline=None)
@given(model=MODELS, payload=st.dictionaries(
    st.sampled_from(sorted({p.name for m in schema.MODELS.values() for p in m.params}) + ["extra"]),
    st.one_of(ANY_VALUE, custom_sizes()), max_size=10))
def test_each_model_judges_any_body_without_crashing(model, payload):
    for issue in model.validate(payload):
        assert isinstance(issue.message, str) and issue.message
