"""Every image this app decodes is measured from its header first, then decoded inside one bounded pool.

A PNG of half a megabyte can declare 140 megapixels: ~560 MB once decoded as
RGBA, more while it is converted or resized. Pillow only warns below ~89 MP,
and the form's validators, previews and runs could each decode one at the same
time. So:

- A file's size in bytes, then its header's pixel count, is judged before
  anything is decoded: past MAX_DECODE_PIXELS it is refused with a reason a
  person can act on.
- MAX_DECODE_PIXELS is 50 MP, well under Pillow's 89 MP: the largest ordinary
  phone sensor (48 MP, 8064x6048) fits, and the model never receives more than
  4096 px a side (16.8 MP). One such decode peaks at ~550 MB (RGBA, then
  resized); 89 MP would be ~1 GB. A 200 MP "high resolution" phone photo is
  refused with a request to export it smaller. Where less is needed (a working
  copy, a thumbnail), a JPEG decodes at 1/2-1/8 scale straight from its DCT.
- Every decode, wherever it happens (validators, the mask preview, working
  copies, runs, thumbnails), reserves its pixels from one process-wide
  DecodePool; past the pool's budget, decodes wait their turn (briefly, then
  refuse) instead of adding up. Peak memory is bounded by the budget, not by
  how many visitors send images at once.
- Pillow's own limit is set to the same 50 MP: it is what judges the header
  here, and it refuses a decode this module does not see (Gradio's own) too.
"""

from __future__ import annotations

import io
import re
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Union

from PIL import Image

from components.media.memory import give_back_memory

# The most pixels any single decode may produce (see the module's docstring for why 50 MP).
MAX_DECODE_PIXELS = 50_000_000
# Pixels being decoded at once across the whole process: one largest image and a few small ones.
# Decoding, converting and resizing cost up to ~8 bytes a pixel at the peak, so ~500 MB at most.
DECODE_BUDGET_PIXELS = 64_000_000
# Past this, a decode's freed memory is handed back to the system at once (a few milliseconds).
TRIM_AFTER_PIXELS = 4_000_000
# How long a decode waits for its share before the visitor is told to try again.
DECODE_WAIT_SECONDS = 30.0
# A file over the model's 50 MB may still be reduced to fit; beyond this it is not worth reading.
MAX_READ_BYTES = 200 * 1024 * 1024

# Pillow refuses past twice its limit, from the header, and warns past it: refuse at ours, without the warnings.
Image.MAX_IMAGE_PIXELS = MAX_DECODE_PIXELS // 2
warnings.simplefilter("ignore", Image.DecompressionBombWarning)

Source = Union[bytes, str, Path]


class InputError(ValueError):
    """One input could not be used; the message says which and why."""


class DecodeBusy(InputError):
    """The pool stayed full for longer than a visitor should wait."""


class DecodePool:
    """A budget of pixels being decoded at once; each decode reserves its own before it starts."""

    def __init__(self, budget_pixels: int = DECODE_BUDGET_PIXELS, wait_seconds: float = DECODE_WAIT_SECONDS) -> None:
        self.budget = budget_pixels
        self.wait_seconds = wait_seconds
        self.in_use = 0
        self.peak = 0   # the most ever reserved at once (for benchmarks and tests)
        self._changed = threading.Condition()

    @contextmanager
    def reserve(self, pixels: int, name: str = "an image") -> Iterator[None]:
        pixels = max(1, min(pixels, self.budget))  # one image never waits for more than the whole budget
        with self._changed:
            if not self._changed.wait_for(lambda: self.in_use + pixels <= self.budget, self.wait_seconds):
                raise DecodeBusy(f"{name} could not be opened: this server is busy opening other large images. "
                                 "Try again in a minute.")
            self.in_use += pixels
            self.peak = max(self.peak, self.in_use)
        try:
            yield
        finally:
            with self._changed:
                self.in_use -= pixels
                self._changed.notify_all()


POOL = DecodePool()
# EXIF orientations that turn the image a quarter: shown, its width and height swap.
QUARTER_TURNS = (5, 6, 7, 8)


def unreadable(name: str) -> InputError:
    return InputError(f"{name} is not an image this app can read (corrupt or another kind of file)")


def check_file_size(size_bytes: int, name: str) -> None:
    if size_bytes > MAX_READ_BYTES:
        raise InputError(f"{name} is {size_bytes / 1e6:.0f} MB; this app reads at most "
                         f"{MAX_READ_BYTES // 1_000_000} MB (the model takes 50 MB)")


def reduce_on_decode(opened: Image.Image, longest: int) -> None:
    """Have a JPEG decode straight to the smallest DCT scale still at least `longest` px on its long side."""
    if opened.format == "JPEG" and max(opened.size) > longest:
        scale = longest / max(opened.size)
        opened.draft(opened.mode, (max(1, round(opened.width * scale)), max(1, round(opened.height * scale))))


def displayed_size(opened: Image.Image) -> tuple[int, int]:
    """The size an image opened by `open_bounded` declares, as a viewer shows it (EXIF orientation applied).

    Call it inside the `with`, and only when the orientation matters: a PNG's EXIF may follow its pixels,
    so reading it decodes them, which is why `open_bounded` does not read it for every caller.
    """
    width, height = opened.info["header_size"]
    return (height, width) if opened.getexif().get(0x0112, 1) in QUARTER_TURNS else (width, height)


@contextmanager
def open_bounded(source: Source, name: str = "the image", *, longest: int | None = None,
                 pool: DecodePool | None = None) -> Iterator[Image.Image]:
    """An image opened for decoding, checked from its header and holding its share of the decode pool.

    `longest`: the caller only needs this many pixels on the long side, so a JPEG may decode reduced.
    `displayed_size(opened)` is the size its header declares, as a viewer shows it (EXIF orientation applied).
    Decode inside the `with` (load, convert, resize); the reservation ends with it. Raises InputError,
    for what the header says and for whatever goes wrong decoding inside the `with`.
    """
    pool = pool or POOL
    if isinstance(source, (bytes, bytearray)):
        size_bytes, stream = len(source), io.BytesIO(source)
    else:
        try:
            size_bytes = Path(source).stat().st_size
        except OSError:
            raise InputError(f"{name} cannot be read") from None
        stream = source
    check_file_size(size_bytes, name)
    try:
        opened = Image.open(stream)
    except Image.DecompressionBombError as exc:
        # Pillow judges the pixel count from the header (its limit is ours); its message holds the count.
        declared = re.search(r"\((\d+) pixels\)", str(exc))
        count = f" ({int(declared.group(1)) / 1e6:.0f} megapixels)" if declared else ""
        raise InputError(f"{name} is too large{count}; this app opens at most {MAX_DECODE_PIXELS / 1e6:.0f} "
                         "megapixels. Export it smaller and try again.") from None
    except (OSError, SyntaxError, ValueError):
        raise unreadable(name) from None
    try:
        width, height = opened.size
        if longest is not None:
            reduce_on_decode(opened, longest)
        decoded = opened.width * opened.height   # after any reduction: what will really be decoded
        with pool.reserve(decoded, name):
            try:
                opened.info["header_size"] = (width, height)
                yield opened
            except InputError:
                raise
            except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
                raise unreadable(name) from None
            finally:
                # Its pixels go, and back to the system, while the reservation still counts them: each
                # decoding thread has its own allocator arena, and the next decode must not add to this one.
                opened.close()
                if decoded >= TRIM_AFTER_PIXELS:
                    give_back_memory()
    finally:
        opened.close()
