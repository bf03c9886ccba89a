"""What makes the app fast and frugal: the poll schedule, the upload cache, lean input preparation."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from components.emulator import Route
from components.api.polling import DurationModel, PollSchedule
from tests.conftest import edit_inputs, make_client, mask_bytes, png_bytes


def simulate(schedule: PollSchedule, finishes_at: float) -> tuple[int, float]:
    """Polls spent and lag, for a job that completes at `finishes_at` seconds after submit."""
    now, polls = 0.0, 0
    while True:
        polls += 1
        if now >= finishes_at:
            return polls, now - finishes_at
        now += schedule.next_wait(now, polls)


@pytest.mark.parametrize("duration", [60.0, 30.0, 20.0])
def test_a_known_kind_of_job_costs_no_more_polls_than_the_sdk_and_is_seen_sooner(duration):
    sdk_polls, sdk_lag = simulate(PollSchedule(1.0, None), duration + 0.37)
    polls, lag = simulate(PollSchedule(1.0, (duration * 0.97, duration * 1.03)), duration + 0.37)
    assert polls <= sdk_polls and lag <= 0.3 and lag < sdk_lag


@pytest.mark.parametrize("window,duration", [((40.0, 80.0), 60.0), ((6.0, 60.0), 30.0), ((6.0, 60.0), 7.0)])
def test_widely_spread_history_never_costs_more_than_the_sdk(window, duration):
    sdk_polls, _ = simulate(PollSchedule(1.0, None), duration)
    polls, lag = simulate(PollSchedule(1.0, window), duration)
    assert polls <= sdk_polls + 2 and lag <= 1.0


def test_a_job_that_ends_early_is_noticed_within_seconds():
    polls, lag = simulate(PollSchedule(1.0, (100.0, 140.0)), 5.0)
    assert lag <= 4.0


def test_without_history_the_schedule_is_the_sdks():
    assert all(PollSchedule(1.0, None).next_wait(t, n) == 1.0 for t, n in [(0, 1), (5, 5), (100, 90)])


def test_a_job_slower_than_ever_before_falls_back_to_the_base_interval():
    schedule = PollSchedule(1.0, (10.0, 11.0))
    assert schedule.next_wait(30.0, 25) == 1.0


def test_durations_are_learnt_per_kind_and_bounded():
    model = DurationModel()
    for seconds in range(1, 40):
        model.record(("gpt-image-1-edit", "high", "auto"), float(seconds))
    low, high = model.window(("gpt-image-1-edit", "high", "auto"))
    assert 20 <= low < high <= 39  # the last 20 only
    assert model.window(("gpt-image-1-edit", "low", "auto")) is None
    assert model.window(("gpt-image-2", "high", "auto")) is None


def test_before_any_job_finishes_a_models_page_latency_sets_the_window():
    """gpt-image-2 takes about 94 s on Segmind: polling it every second from the start wastes ~45 polls."""
    model = DurationModel(priors={"gpt-image-2": 94.0})
    low, high = model.window(("gpt-image-2", "high", "2048x1152"))
    assert low < 94.0 < high
    schedule = PollSchedule(1.0, (low, high))
    polls, now = 0, 0.0
    while now < 94.0:
        now += schedule.next_wait(now, polls)
        polls += 1
    assert polls <= 75  # the SDK's cadence would spend 94: slow polls while the job cannot be done yet
    model.record(("gpt-image-2", "high", "2048x1152"), 30.0)
    assert model.window(("gpt-image-2", "high", "2048x1152")) == (30.0, 30.0)  # what jobs teach wins

def test_the_client_learns_and_then_polls_less(emulator):
    # A job twenty base intervals long, like a minute-long job at the SDK's 1 s cadence.
    emulator.queue_seconds, emulator.processing_seconds = 0.0, 2.0
    client = make_client(emulator, poll_interval=0.1)
    request = edit_inputs("x", [png_bytes()], options={"quality": "high"})
    first = list(client.stream(request))[-1]
    second = list(client.stream(request))[-1]
    assert client.durations.window(("gpt-image-1-edit", "high", "auto")) is not None
    assert emulator.jobs[second.request_id].polls < emulator.jobs[first.request_id].polls


def test_identical_inputs_are_uploaded_once(client, emulator):
    request = edit_inputs("x", [png_bytes(), png_bytes(color=(9, 9, 9))], mask=mask_bytes())
    client.prepare_payload(request)
    first_bytes = client.uploaded_bytes
    again = client.prepare_payload(request)
    assert emulator.calls[Route.UPLOAD] == 1 and client.uploaded_bytes == first_bytes
    assert again["image_urls"][0].startswith(emulator.url)


def test_the_upload_cache_is_per_account(client, emulator):
    from tests.conftest import KEY
    client.prepare_payload(edit_inputs("x", [png_bytes()]))
    emulator.key = "another-account"
    try:
        other = make_client(emulator, key="another-account")
        other.uploads = client.uploads  # even sharing one cache, another account uploads its own copy
        other.prepare_payload(edit_inputs("x", [png_bytes()]))
    finally:
        emulator.key = KEY
    assert emulator.calls[Route.UPLOAD] == 2


def test_exif_orientation_is_applied_once_and_reported(client, emulator):
    image = Image.new("RGB", (60, 40), (200, 10, 10))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    inputs = edit_inputs("x", [buffer.getvalue()])
    payload = client.prepare_payload(inputs)
    sent = Image.open(io.BytesIO(emulator.files[payload["image_urls"][0].split(emulator.url + "/")[1]].data))
    assert sent.size == (40, 60) and any("EXIF" in note for note in inputs.notes)


def test_untouched_inputs_are_sent_byte_for_byte(client, emulator):
    original = png_bytes((64, 48))
    payload = client.prepare_payload(edit_inputs("x", [original]))
    assert emulator.files[payload["image_urls"][0].split(emulator.url + "/")[1]].data == original


def test_a_huge_image_is_reduced_with_its_mask_and_a_note(client, emulator):
    big = Image.new("RGB", (5000, 2500), (10, 120, 200))
    mask = Image.new("RGBA", (5000, 2500), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 2500, 2500))
    inputs = edit_inputs("x", [big], mask=mask)
    payload = client.prepare_payload(inputs)
    sent = Image.open(io.BytesIO(emulator.files[payload["image_urls"][0].split(emulator.url + "/")[1]].data))
    sent_mask = Image.open(io.BytesIO(emulator.files[payload["mask"].split(emulator.url + "/")[1]].data))
    assert sent.size == (4096, 2048) and sent_mask.size == (4096, 2048)
    assert sent_mask.getchannel("A").getpixel((100, 100)) == 0 and sent_mask.getchannel("A").getpixel((4000, 100)) == 255
    assert any("5000x2500" in note for note in inputs.notes)


def test_a_rotated_photo_and_its_mask_are_judged_as_shown(client, emulator):
    photo = Image.new("RGB", (60, 40), (200, 10, 10))
    exif = photo.getexif()
    exif[0x0112] = 6  # shown as 40x60
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", exif=exif)
    shown = Image.new("RGBA", (40, 60), (0, 0, 0, 255))
    payload = client.prepare_payload(edit_inputs("x", [buffer.getvalue()], mask=shown))
    assert payload["mask"]
    from components.api import errors
    with pytest.raises(errors.ValidationError, match="40x60"):
        (edit_inputs("x", [buffer.getvalue()], mask=Image.new("RGBA", (60, 40))))
