"""Run the emulator alone: `python -m components.emulator --port 8765 --key KEY`."""

from __future__ import annotations

import argparse
import threading

from components.emulator.server import Emulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A local emulator of Segmind's GPT Image 1 Edit API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--key", default="emulator-key", help="the x-api-key the emulator accepts")
    parser.add_argument("--queue", type=float, default=0.5, help="seconds a job stays QUEUED")
    parser.add_argument("--latency", type=float, default=2.5, help="seconds a job stays PROCESSING")
    parser.add_argument("--expiry", type=float, default=3600.0, help="seconds a result is kept")
    parser.add_argument("--credits", type=float, default=100.0, help="simulated credits, in dollars")
    parser.add_argument("--retired", action="append", default=[], help="a model slug to answer 410 for")
    args = parser.parse_args(argv)
    emulator = Emulator(key=args.key, host=args.host, port=args.port, queue_seconds=args.queue,
                        processing_seconds=args.latency, expiry_seconds=args.expiry, credits=args.credits,
                        retired_models=tuple(args.retired))
    emulator.start()
    print(f"Segmind emulator listening on {emulator.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
