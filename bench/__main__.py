"""Run every benchmark and print the tables: `python -m bench [--write BENCHMARKS.md]`."""

from __future__ import annotations

import argparse
import platform
import sys
import time

from bench import app_load, lag, uploads


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
    ]
    header = (f"Produced by `make bench` (`.venv/bin/python -m bench --write BENCHMARKS.md`) on "
              f"{time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
              f"in {time.monotonic() - started:.0f} s.")
    report = "\n\n".join([header] + [f"## {title}\n\n{body}" for title, body in sections]) + "\n"
    print(report)
    if args.write:
        with open(args.write, "w") as file:
            file.write(report)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
