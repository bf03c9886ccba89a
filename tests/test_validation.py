"""Nothing invalid reaches the server: every problem is reported first, by parameter."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from components.api import errors
from components.emulator import Route
from components.media.images import EditRequest, UrlText, prepare
from tests.conftest import mask_bytes, png_bytes


def refused(client, emulator, request):
    with pytest.raises(errors.ValidationError) as caught:
        client.prepare_payload(prepare(request))
    assert sum(emulator.calls.values()) == 0, "something was sent"
    return {issue.param: issue.message for issue in caught.value.issues}


CASES = {
    "empty prompt": (EditRequest("  ", [png_bytes()]), "prompt"),
    "long prompt": (EditRequest("x" * 32_001, [png_bytes()]), "prompt"),
    "no image": (EditRequest("x", []), "image_urls"),
    "17 images": (EditRequest("x", [png_bytes()] * 17), "image_urls"),
    "bad choice": (EditRequest("x", [png_bytes()], options={"quality": "ultra"}), "quality"),
    "compression": (EditRequest("x", [png_bytes()], options={"output_compression": 0}), "output_compression"),
    "transparent jpeg": (EditRequest("x", [png_bytes()], options={"background": "transparent",
                                                                   "output_format": "jpeg"}), "background"),
    "corrupt image": (EditRequest("x", [b"\x89PNG\r\n\x1a\nnot really"]), "image_urls"),
    "empty file": (EditRequest("x", [b""]), "image_urls"),
    "not a url": (EditRequest("x", ["javascript:alert(1)"]), "image_urls"),
    "a typed path is not a url": (EditRequest("x", [png_bytes(), UrlText("/etc/hostname")]), "image_urls"),
    "a typed file url": (EditRequest("x", [png_bytes(), UrlText("file:///etc/hostname")]), "image_urls"),
    "mask without alpha": (EditRequest("x", [png_bytes()], mask=png_bytes()), "mask"),
    "jpeg mask": (EditRequest("x", [png_bytes()], mask=png_bytes(fmt="JPEG")), "mask"),
    "mask of another size": (EditRequest("x", [png_bytes((64, 48))], mask=mask_bytes((32, 32), (1, 1, 5, 5))),
                             "mask"),
}


@pytest.mark.parametrize("name", CASES)
def test_invalid_requests_are_refused_before_sending(client, emulator, name):
    request, param = CASES[name]
    assert param in refused(client, emulator, request)


def test_all_problems_are_reported_together(client, emulator):
    issues = refused(client, emulator, EditRequest("", [], options={"size": "2x2", "moderation": "off"}))
    assert set(issues) == {"prompt", "image_urls", "size", "moderation"}


def test_mask_size_message_names_both_sizes(client, emulator):
    issues = refused(client, emulator, EditRequest("x", [png_bytes((64, 48))], mask=mask_bytes((32, 32), (1, 1, 5, 5))))
    assert "32x32" in issues["mask"] and "64x48" in issues["mask"]


def test_sources_of_every_kind_are_accepted(client, emulator, tmp_path):
    path = tmp_path / "photo.png"
    path.write_bytes(png_bytes())
    gif = io.BytesIO()
    Image.new("RGB", (64, 48)).save(gif, format="GIF")
    payload = client.prepare_payload(prepare(EditRequest(
        "x", [str(path), Image.new("RGB", (10, 10)), gif.getvalue(), "https://example.com/a.jpg"])))
    assert len(payload["image_urls"]) == 4 and emulator.calls[Route.UPLOAD] == 1


def test_a_data_uri_is_held_to_the_file_byte_limit_before_it_is_decoded(monkeypatch):
    """A typed data: link used to bypass the upload size cap."""
    from components.media import decoding
    from components.media import images as media_images
    decoded = []
    real = media_images._decode
    monkeypatch.setattr(media_images, "_decode", lambda data, name: decoded.append(name) or real(data, name))
    monkeypatch.setattr(decoding, "MAX_READ_BYTES", 1_000)
    huge = "data:image/png;base64," + "A" * 4_000
    inputs, issues = media_images.prepare_inputs([png_bytes(color=(3, 1, 4)), media_images.UrlText(huge)])
    assert inputs is None and any("this app reads at most" in issue.message for issue in issues)
    assert decoded == ["image 1"]  # the first image only: the data: link was refused before decoding
