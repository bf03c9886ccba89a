"""Keeping the original outside the mask for a 12 MP photo: peak memory and time of one composite.

Each measurement runs in a fresh process that has only read the files (a phone-like
4032x3024 JPEG, a 2048x1536 PNG result, the mask PNG at the photo's size, as a run
keeps them). Its peak resident memory (VmHWM) is reset just before the composite,
so the peak is the composite's own on top of the process's baseline.

    .venv/bin/python -m bench.composite
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

from bench.common import table
from bench.photo import write_phone_photo

FEATHERS = (0, 16, 128)

CHILD = """
import json, sys, time
from pathlib import Path
from bench.common import proc_status_mb as status
from components.media.composite import keep_outside_mask
from components.media.memory import give_back_memory

photo, result, mask, feather = sys.argv[1:5]
give_back_memory()
baseline = status("VmRSS")
Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
started = time.perf_counter()
composite = keep_outside_mask(photo, result, mask, int(feather))
seconds = time.perf_counter() - started
print(json.dumps({"baseline": baseline, "peak": status("VmHWM"), "seconds": seconds, "bytes": len(composite.data),
                  "size": [composite.width, composite.height]}))
"""


def inputs(folder: Path) -> tuple[Path, Path, Path]:
    photo = write_phone_photo(folder / "IMG_0001.jpg")
    result = folder / "result.png"
    Image.effect_noise((2048, 1536), 40).convert("RGB").save(result)
    mask = Image.new("RGBA", (4032, 3024), (0, 0, 0, 255))
    ImageDraw.Draw(mask).ellipse((1200, 900, 2800, 2100), fill=(0, 0, 0, 0))  # a fifth of the photo to edit
    mask_path = folder / "mask.png"
    mask.save(mask_path)
    return photo, result, mask_path


def measure(photo: Path, result: Path, mask: Path, feather: int) -> dict:
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", CHILD, str(photo), str(result), str(mask), str(feather)],
                         cwd=root, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run() -> str:
    folder = Path(tempfile.mkdtemp(prefix="composite-bench-"))
    photo, result, mask = inputs(folder)
    rows = []
    for feather in FEATHERS:
        m = measure(photo, result, mask, feather)
        rows.append([feather, f"{m['baseline']:.0f}", f"{m['peak']:.0f}", f"{m['peak'] - m['baseline']:+.0f}",
                     f"{m['seconds']:.2f}", f"{m['bytes'] / 1e6:.1f}"])
    return (table(["feather px", "RSS before MB", "peak RSS MB", "peak over before", "seconds", "composite PNG MB"],
                  rows)
            + "\n\nOne 4032x3024 JPEG photo (3 MB), a 2048x1536 PNG result, the mask at the photo's size; "
              "the photo alone decodes to 36 MB (RGB).")


if __name__ == "__main__":
    print(run())
