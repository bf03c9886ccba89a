"""Run every benchmark and print the tables: `python -m bench [--write BENCHMARKS.md]`."""

from __future__ import annotations

import argparse
import platform
import sys
import time

from bench import app_load, boards, browser_loop, composite, emulator_render, lag, memory, uploads


READING = """How to read this:
- **Lag** runs from the emulator marking a job COMPLETED to the client holding the result. For this app
  that means the image downloaded; for the SDK, `wait()` returning the result body without the image.
- A job's length follows its quality and size, as GPT Image 1's does. This app's client starts each kind
  with no history and polls like the SDK. It then learns the kind's duration and spends its polls near
  the likely finish (see `components/api/polling.py`). So "after the first round" is the steady state of a
  running app. The first 60 s job shows the cold case, the later one the warm case.
- The SDK is run at its default cadence (`interval=1.0`), as documented.
- The photo loop runs in headless Chromium without a GPU: the editor's canvas is drawn and exported by
  software WebGL, which is most of each stroke's time from mouse-up to preview (the server's part is
  a few tens of milliseconds). A browser with a GPU is faster; the bytes are the same.
- A single run on a 2-core machine, with the emulator and the load generator on the same cores: compare
  the columns, and read small differences as noise."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", help="also write the report to this markdown file")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of 2-20 s jobs per kind")
    args = parser.parse_args()
    started = time.monotonic()
    sections = [
        ("Completion lag and status requests", lag.run(rounds=args.rounds)),
        ("Uploads", uploads.run()),
        ("Through the app", app_load.run()),
        ("The photo loop in the browser (12 MP JPEG, three strokes, Run)", browser_loop.run()),
        ("Memory over runs with 12 MP photos", memory.run()),
        ("Keeping the original outside the mask of a 12 MP photo", composite.run()),
        ("The emulator's picture of a 12 MP photo", emulator_render.run()),
        ("Boards: one HTML file and one contact sheet (12 MP photo, 1536x1024 results)", boards.run()),
    ]
    header = (f"Produced by `make bench` (`.venv/bin/python -m bench --write BENCHMARKS.md`) on "
              f"{time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
              f"in {time.monotonic() - started:.0f} s.")
    report = "\n\n".join(["# Benchmarks", header, READING] +
                         [f"## {title}\n\n{body}" for title, body in sections]) + "\n"
    print(report)
    if args.write:
        with open(args.write, "w") as file:
            file.write(report)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
