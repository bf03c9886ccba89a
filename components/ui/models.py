"""The model picker and the widgets that follow it: every fact comes from the registry.

Pure functions a test can call: `model_choices`, `model_card`, `follow_model` (the
widget updates for a chosen model), `size_value` (the size a form asks for) and
`size_check` (the live word on a custom width × height).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Mapping, Sequence

import gradio as gr

from components.api import schema
from components.ui import copy
from components.ui.status import money, seconds
from components.ui.takes import take_count

# The size control's extra choice on a model that takes custom sizes (never sent as such).
CUSTOM_SIZE = "custom"


def lifecycle(model: schema.Model, today: date | None = None, *, short: bool = False) -> str:
    """'' for a current model; otherwise when OpenAI retires (or retired) it."""
    if not model.retires_on:
        return ""
    when = date.fromisoformat(model.retires_on)
    past = model.shut_down_by(today or date.today())
    if short:
        return (copy.RETIRED_TAG if past else copy.RETIRES_TAG).format(date=when)
    return (copy.RETIRED_ON if past else copy.RETIRES_ON).format(date=when)


def model_choices(offered: Sequence[str], today: date | None = None) -> list[tuple[str, str]]:
    """(label, slug) for the picker: the name, the slug, and any shutdown date."""
    choices = []
    for slug in offered:
        model = schema.model(slug)
        when = lifecycle(model, today, short=True)
        choices.append((f"{model.label} · {slug}" + (f" · {when}" if when else ""), slug))
    return choices


def model_card(slug: str, today: date | None = None) -> str:
    """What the chosen model takes, costs and how long it usually runs."""
    model = schema.model(slug)
    prices = model.pricing.per_quality
    cheapest, dearest = min(p[0] for p in prices.values()), max(p[-1] for p in prices.values())
    takes = copy.TAKES_REFERENCES.format(count=model.max_images) if model.takes_references else copy.TAKES_ONE_IMAGE
    parts = [f"**{model.label}** (`{model.slug}`): {model.summary}.", takes,
             copy.TAKES_MASK if model.takes_mask else copy.TAKES_NO_MASK]
    if model.size_rule:
        parts.append(copy.CUSTOM_SIZES.format(rule=model.size_rule.describe()))
    if not model.transparency:
        parts.append(copy.NO_TRANSPARENCY)
    scale = " at 1024×1024 (more for larger sizes)" if model.pricing.by_area else ""
    parts.append(f"About {money(cheapest)}–{money(dearest)} an image{scale}; usually about "
                 f"{seconds(model.latency_prior)} on Segmind.")
    when = lifecycle(model, today)
    if when:
        parts.append(f"**{when[:1].upper() + when[1:]}**" + (f"; its successor is `{model.successor}`."
                                                            if model.successor else "."))
    return " ".join(parts)


def size_choices(model: schema.Model) -> list[tuple[str, str]]:
    size = model.params_by_name["size"]
    choices = [(choice, choice) for choice in size.choices]
    if size.custom is not None:
        choices.append((copy.CUSTOM_SIZE_LABEL, CUSTOM_SIZE))
    return choices


def size_value(values: Mapping[str, Any]) -> Any:
    """The size the form asks for: a listed one, or the custom width × height as WIDTHxHEIGHT."""
    size = values.get("size")
    if size != CUSTOM_SIZE:
        return size
    width, height = values.get("custom_width"), values.get("custom_height")
    try:
        return f"{int(width)}x{int(height)}"
    except (TypeError, ValueError):
        return "?x?"  # the schema names what is wrong with it


def size_check(slug: str, size: str, width: Any, height: Any) -> str:
    """The live word under a custom size: fine (with its pixels and price), or the rule it breaks."""
    model = schema.model(slug)
    if size != CUSTOM_SIZE or model.size_rule is None:
        return ""
    value = size_value({"size": size, "custom_width": width, "custom_height": height})
    pixels = schema.parse_size(value)
    problem = model.size_rule.problem(*pixels) if pixels else copy.CUSTOM_SIZE_NUMBERS
    if problem:
        return f"⚠️ {problem}"
    return f"✓ {value}: {pixels[0] * pixels[1] / 1e6:.1f} MP, allowed."


def pixels_text(pixels: tuple[int, int]) -> str:
    return f"{pixels[0]}×{pixels[1]}"


def estimate(slug: str, quality: str, size: str, width: Any = None, height: Any = None, takes: Any = 1,
             first: tuple[int, int] | None = None) -> str:
    """The price line for the chosen model, quality and size; with several takes, their total too.

    `first`: the first image's size as shown (width, height), which size `auto` follows; None before there is one.
    """
    model = schema.model(slug)
    size = size_value({"size": size, "custom_width": width, "custom_height": height})
    each = model.estimated_cost({"quality": quality, "size": size}, first)
    notes = [copy.PRICE_BASIS]
    if quality not in model.pricing.per_quality:
        notes.append(copy.PRICE_QUALITY_ESTIMATED.format(quality=quality, estimated=model.pricing.estimated_quality))
    if size == schema.AUTO_SIZE and first is not None:
        notes.append(copy.PRICE_AUTO_FOR_PHOTO.format(size=pixels_text(model.auto_size(first))))
    elif size == schema.AUTO_SIZE:
        dearest = max(model.pricing.estimate(quality, pixels) for pixels in model.auto_sizes())
        notes.append(copy.PRICE_AUTO_NO_PHOTO.format(size=pixels_text(model.auto_size(None)), dearest=money(dearest)))
    elif schema.parse_size(size) is None:
        notes.append(copy.PRICE_SIZE_UNKNOWN.format(size=size, square=pixels_text(schema.PRICED_SIZE)))
    count = take_count(takes)
    total = copy.TAKES_PRICE.format(takes=count, total=money(each * count)) if count > 1 else ""
    return copy.PRICE_LINE.format(model=model.slug, each=money(each), total=total, notes="; ".join(notes))


def follow_model(slug: str, size: str, compression: Any) -> dict[str, Any]:
    """How each model-dependent widget changes when `slug` is chosen, by widget name.

    Values a person chose are kept where the new model allows them.
    """
    model = schema.model(slug)
    sizes = [value for _, value in size_choices(model)]
    compression_param = model.params_by_name["output_compression"]
    try:
        kept = min(compression_param.maximum, max(compression_param.minimum, int(compression)))
    except (TypeError, ValueError):
        kept = compression_param.default
    references = model.takes_references
    return {
        "card": model_card(slug),
        "size": gr.update(choices=size_choices(model), value=size if size in sizes else model.params_by_name[
            "size"].default, info=model.params_by_name["size"].help),
        "output_compression": gr.update(minimum=compression_param.minimum, maximum=compression_param.maximum,
                                        value=kept, info=compression_param.help),
        "background": gr.update(info=model.params_by_name["background"].help),
        "quality": gr.update(choices=list(model.params_by_name["quality"].choices),
                             info=model.params_by_name["quality"].help),
        "files": gr.update(interactive=references, label=copy.REFERENCES_LABEL if references
                           else copy.NO_REFERENCES_LABEL.format(model=model.label)),
        "urls": gr.update(interactive=references),
        "mask_note": mask_note_for(model),
    }


def mask_note_for(model: schema.Model) -> str:
    """Said by the editor: nothing for a model that takes a mask."""
    return "" if model.takes_mask else copy.NO_MASK_NOTE.format(model=model.label)
