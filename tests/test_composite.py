"""Keeping the original outside the mask, and the mask tools: media-layer functions, then a run on the emulator."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image, ImageChops, ImageDraw

from components.media.composite import (
    STRETCH_TOLERANCE, MAX_FEATHER, Composite, NotComposited, aspect_problem, keep_outside_mask,
)
from components.media.images import EditRequest, check_request, keep_outside_from
from components.media.mask import grow_area, invert_area, mask_from_editor, painted_area, shrink_area
from components.ui.mask_tools import MaskTool, changed_area
from tests.conftest import owner_id, owner_token

HOLE = (30, 20, 60, 50)  # the area to edit in a 120x80 photo


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def noisy(size, mode="RGB") -> Image.Image:
    return Image.merge("RGB", [Image.effect_noise(size, 60 + 10 * i) for i in range(3)]).convert(mode)


def mask_with_hole(size=(120, 80), hole=HOLE) -> Image.Image:
    mask = Image.new("RGBA", size, (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), hole)
    return mask


def opened(composite: Composite) -> Image.Image:
    image = Image.open(io.BytesIO(composite.data))
    image.load()
    return image


def outside(image: Image.Image, hole=HOLE) -> Image.Image:
    """The image with the hole blacked out: what must equal the photo's, pixel for pixel."""
    copy = image.convert("RGB").copy()
    copy.paste((0, 0, 0), hole)
    return copy


def test_with_no_feather_every_pixel_outside_the_mask_is_the_photos_own():
    photo, result = noisy((120, 80)), noisy((1536, 1024))
    made = opened(keep_outside_mask(png(photo), png(result), png(mask_with_hole()), 0))
    assert made.size == photo.size and made.format == "PNG"
    assert outside(made).tobytes() == outside(photo).tobytes()
    # Inside, the result scaled to the photo's size (LANCZOS), up to rounding where bands of rows meet.
    scaled = result.resize(photo.size, Image.Resampling.LANCZOS)
    difference = ImageChops.difference(made.crop(HOLE), scaled.crop(HOLE))
    assert max(high for _, high in difference.getextrema()) <= 1


def test_a_feather_blends_near_the_edge_and_keeps_the_photo_beyond_it():
    photo = Image.new("RGB", (400, 300), (10, 20, 30))
    result = Image.new("RGB", (1024, 768), (250, 240, 230))
    hole = (150, 100, 250, 200)
    made = opened(keep_outside_mask(png(photo), png(result), png(mask_with_hole((400, 300), hole)), 8))
    changed = ImageChops.difference(made, photo).getbbox()
    # Blended a little way outside the painted area, never far: the photo's pixels beyond.
    assert changed[0] < hole[0] and changed[2] > hole[2]
    assert hole[0] - changed[0] <= 4 * 8
    assert made.getpixel((200, 150)) == (250, 240, 230)            # deep inside: the result
    assert 10 < made.getpixel((hole[0], 150))[0] < 250             # on the edge: between the two
    assert made.getpixel((hole[0] - 40, 150)) == (10, 20, 30)      # well outside: the photo, exactly


def test_a_result_of_another_shape_is_refused_with_the_reason_not_stretched():
    with pytest.raises(NotComposited) as refused:
        keep_outside_mask(png(noisy((120, 80))), png(noisy((1024, 1024))), png(mask_with_hole()), 0)
    reason = str(refused.value)
    assert "1024x1024" in reason and "120x80" in reason and "stretch" in reason
    # Within the tolerance (sizes rounded to a 16-pixel grid), it is laid over as it is.
    assert aspect_problem((4032, 3024), (1536, 1152)) is None
    assert aspect_problem((4080, 3072), (2048, 1536)) is None       # 0.4% off 4:3
    assert aspect_problem((1000, 1000), (1000, round(1000 * (1 + 3 * STRETCH_TOLERANCE)))) is not None


def test_a_mask_that_opens_nothing_makes_no_composite():
    with pytest.raises(NotComposited, match="nothing to edit"):
        keep_outside_mask(png(noisy((120, 80))), png(noisy((1536, 1024))), png(Image.new("RGBA", (120, 80))
                                                                              .point(lambda v: 255)), 0)


def test_a_transparent_result_over_an_opaque_photo_keeps_the_photo_opaque_outside():
    photo = noisy((120, 80))
    result = Image.new("RGBA", (1536, 1024), (255, 0, 0, 0))
    made = opened(keep_outside_mask(png(photo), png(result), png(mask_with_hole()), 0))
    assert made.mode == "RGBA"
    assert made.getpixel((5, 5)) == photo.getpixel((5, 5)) + (255,)
    assert made.getpixel((40, 30))[3] == 0
    assert outside(made).tobytes() == outside(photo).tobytes()


def test_keeping_needs_a_mask_and_the_feather_is_bounded(tmp_path):
    photo = tmp_path / "photo.png"
    noisy((120, 80)).save(photo)
    request = EditRequest("x", [str(photo)], keep_outside=keep_outside_from(True, 4))
    issues = check_request(request)[1]
    assert [i.param for i in issues] == ["keep_outside_mask"] and "needs a mask" in issues[0].message
    assert keep_outside_from(False, 12) is None
    assert keep_outside_from(True, 10_000).feather == MAX_FEATHER and keep_outside_from(True, -3).feather == 0
    with_mask = EditRequest("x", [str(photo)], png(mask_with_hole()), keep_outside=keep_outside_from(True, 4))
    assert check_request(with_mask)[1] == []


def test_a_size_of_another_shape_is_refused_before_anything_is_paid(tmp_path):
    photo = tmp_path / "photo.png"
    noisy((640, 480)).save(photo)

    def issues(size, model=None):
        request = EditRequest("x", [str(photo)], png(mask_with_hole((640, 480))), {"size": size}, model=model,
                              keep_outside=keep_outside_from(True, 0))
        return [str(issue) for issue in check_request(request)[1]]

    (fixed,) = issues("auto")  # GPT Image 1 only makes 1:1, 3:2 and 2:3
    assert fixed.startswith("keep_outside_mask: is not possible on GPT Image 1") and "2048x1536" in fixed
    (asked,) = issues("1536x1024", "gpt-image-2")
    assert "at size 1536x1024" in asked and "640x480" in asked
    assert issues("2048x1536", "gpt-image-2") == [] and issues("auto", "gpt-image-2") == []


# Mask tools: on the painted area (L, 255 where painted) ---------------------------------------------------


def painted(size=(60, 40), box=(20, 10, 30, 20)) -> Image.Image:
    area = Image.new("L", size, 0)
    area.paste(255, box)
    return area


def test_grow_widens_by_exactly_n_pixels_with_rounded_corners():
    grown = grow_area(painted(), 4)
    assert grown.getbbox() == (16, 6, 34, 24)
    assert grown.getpixel((16, 15)) == 255 and grown.getpixel((15, 15)) == 0   # n to the left of an edge, not n+1
    assert grown.getpixel((16, 6)) == 0                                          # the far corner is cut (octagon)
    assert set(grown.getdata()) == {0, 255}


def test_shrink_narrows_by_n_pixels_and_undoes_grow_on_a_rectangle():
    shrunk = shrink_area(painted(), 2)
    assert shrunk.getbbox() == (22, 12, 28, 18)
    assert shrink_area(grow_area(painted(), 3), 3).tobytes() == painted().tobytes()
    assert shrink_area(painted(), 6).getbbox() is None                           # a 10 px square shrunk away
    # Paint along the image's edge stays at the edge: only its inner side moves.
    assert shrink_area(painted(box=(0, 0, 10, 40)), 3).getbbox() == (0, 0, 7, 40)


def test_invert_swaps_painted_and_unpainted():
    area = painted()
    inverted = invert_area(area)
    assert inverted.getpixel((0, 0)) == 255 and inverted.getpixel((25, 15)) == 0
    assert invert_area(inverted).tobytes() == area.tobytes()


def test_a_tool_gives_the_editor_a_paint_layer_that_is_the_new_mask():
    layer = Image.new("RGBA", (60, 40), (0, 0, 0, 0))
    ImageDraw.Draw(layer).rectangle((20, 10, 29, 19), fill=(255, 0, 170, 255))
    area = painted_area({"background": None, "layers": [layer], "composite": None})
    grown = changed_area(MaskTool.GROW, area, area.size, 2)
    assert grown.getbbox() == (18, 8, 32, 22)
    assert changed_area(MaskTool.CLEAR, area, area.size, 2) is None
    assert changed_area(MaskTool.INVERT, None, (60, 40), 1).getbbox() == (0, 0, 60, 40)  # nothing painted: all


# A run on the emulator: both files kept, both in the zip; a model that takes no mask still keeps it -------


def test_a_run_on_a_model_without_a_mask_keeps_the_painting_and_composites_with_it(service, emulator, tmp_path):
    photo = noisy((96, 64))
    photo_path = tmp_path / "photo.png"
    photo.save(photo_path)
    layer = Image.new("RGBA", (48, 32), (0, 0, 0, 0))            # painted on a half-size working copy
    layer.paste((255, 0, 170, 255), (10, 8, 30, 24))
    mask = mask_from_editor({"background": None, "layers": [layer], "composite": None})
    request = EditRequest("a red door", [str(photo_path)], mask, {"size": "1536x1024"}, mask_painted=True,
                          model="gpt-image-2", keep_outside=keep_outside_from(True, 0))
    run = service.start_edit(request, owner=owner_id("composite"))
    assert run.wait(20) and run.error is None
    record = run.record
    assert record.mask == "mask.png"                                # kept with the run, though not sent
    assert "mask" not in emulator.jobs[record.request_id].params
    assert record.composite and record.composite_note is None and record.keep_outside_feather == 0
    made = Image.open(service.history.path(record, record.composite))
    hole = (20, 16, 60, 48)                                         # the paint, at the photo's own size
    assert outside(made, hole).tobytes() == outside(photo, hole).tobytes()
    assert ImageChops.difference(made.convert("RGB"), photo).getbbox() is not None
    archive = service.history.zip_runs([record], tmp_path / "run.zip")
    names = {name.split("/", 1)[1] for name in zipfile.ZipFile(archive).namelist()}
    assert {record.result, record.composite, "mask.png", "image-1.png", "record.json"} <= names


def test_a_run_whose_result_is_another_shape_says_why_and_keeps_the_result(service, tmp_path):
    """`auto` on gpt-image-2 may come back any shape: here 1536x1024 for a 640x448 photo, 5% wider."""
    photo_path = tmp_path / "photo.png"
    noisy((640, 448)).save(photo_path)
    request = EditRequest("x", [str(photo_path)], png(mask_with_hole((640, 448), (10, 10, 40, 40))),
                          {"size": "auto"}, model="gpt-image-2", keep_outside=keep_outside_from(True, 6))
    run = service.start_edit(request, owner=owner_id("composite-refused"))
    assert run.wait(20) and run.error is None
    assert run.record.result and run.record.composite is None and run.composite_path is None
    assert "stretch" in run.record.composite_note
    reloaded = service.history.load(run.run_id)
    assert reloaded.composite_note == run.record.composite_note and reloaded.keep_outside_feather == 6



def test_an_earlier_runs_mask_loads_as_paint_for_its_owner_only(service, tmp_path):
    import gradio as gr

    from components.ui.edit_tab import EditHandlers, build_edit_tab
    with gr.Blocks():
        handlers = EditHandlers(service, service.history, build_edit_tab(service.backend), gr.BrowserState(None))
    photo_path = tmp_path / "photo.png"
    noisy((96, 64)).save(photo_path)
    hole = (20, 16, 60, 48)
    request = EditRequest("x", [str(photo_path)], png(mask_with_hole((96, 64), hole)))
    run = service.start_edit(request, owner=owner_id("mask-owner"))
    assert run.wait(20)
    working = tmp_path / "working.png"
    noisy((48, 32)).save(working)                                  # a half-size working copy of the same shape

    mine, theirs = owner_token(service, "mask-owner"), owner_token(service, "someone-else")
    (choice,) = handlers.tools.earlier_choices(mine)["choices"]
    assert choice[1] == run.run_id
    assert handlers.tools.earlier_choices(theirs)["choices"] == []

    values = {"photo": str(photo_path), "editor": None, "files": [], "urls": "", "mask_file": None}
    reset, editor, _, preview, info = handlers.tools.load_earlier(mine, run.run_id, str(working),
                                                                 **values)
    assert reset is None and editor["background"] == str(working)
    (layer,) = editor["layers"]
    assert Image.open(layer).getchannel("A").getbbox() == (10, 8, 30, 24)  # the hole, at the working copy's scale
    assert preview is not None and "open to edit" in info
    # Another browser naming the run: told it is not there, and the editor is left as it was.
    refused = handlers.tools.load_earlier(theirs, run.run_id, str(working), **values)
    assert refused[0] is None and all(item == gr.skip() for item in refused[1:])
