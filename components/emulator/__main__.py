"""Run the emulator alone: `python -m components.emulator --port 8765 --key KEY`.

Every option of `Emulator` that makes sense from a shell is here; the ones that may change while it
runs are also taken by `POST /_emulator/config` (see state.CONFIGURABLE).
"""

from __future__ import annotations

import argparse
import threading

from components.emulator.server import Emulator
from components.emulator.shapes import OutputShape, SyncShape
from components.emulator.state import OUTPUT_RETENTION_SECONDS


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="A local emulator of Segmind's GPT Image 1 Edit API. By default it "
                                                 "answers as the real service does; --strict keeps the tidy contract.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="the API host's port; 0 picks a free port")
    parser.add_argument("--output-port", type=int, default=0,
                        help="the output host's port (result files, no key needed); 0 picks a free port")
    parser.add_argument("--key", default="emulator-key", help="the x-api-key the emulator accepts")
    parser.add_argument("--queue", type=float, default=0.5, help="seconds a job stays QUEUED")
    parser.add_argument("--latency", type=float, default=2.5, help="seconds a job stays PROCESSING")
    parser.add_argument("--expiry", type=float, default=3600.0,
                        help="seconds a job's record is kept, counted from its submission")
    parser.add_argument("--output-retention", type=float, default=OUTPUT_RETENTION_SECONDS,
                        help="seconds an output file stays downloadable (default about 7 days)")
    parser.add_argument("--credits", type=float, default=100.0, help="simulated credits, in dollars")
    parser.add_argument("--retired", action="append", default=[], help="a model slug to answer 410 for")
    parser.add_argument("--strict", action="store_true",
                        help="the tidy contract: 400 at submit for bad parameters, 406 for credits, JSON errors only")
    parser.add_argument("--output-shape", choices=[shape.value for shape in OutputShape], default=OutputShape.URL.value,
                        help="how a result body carries the image")
    parser.add_argument("--sync-shape", choices=[shape.value for shape in SyncShape], default=SyncShape.BYTES.value,
                        help="what v1 answers with")
    parser.add_argument("--upload-key", default="file_urls", help="the key /upload-asset lists URLs under")
    parser.add_argument("--rate-limit", type=int, default=None,
                        help="requests per window per key (the free plan is about 5 a minute); off by default")
    parser.add_argument("--rate-limit-window", type=float, default=60.0, help="the rate limit's window, in seconds")
    parser.add_argument("--rate-limit-ignores-polls", action="store_true",
                        help="count only submits and v1 calls against the rate limit, not status and result polls")
    parser.add_argument("--replay", default=None, metavar="CAPTURE",
                        help="answer in the shapes of a capture file written with SEGMIND_CAPTURE")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    emulator = Emulator(key=args.key, host=args.host, port=args.port, output_port=args.output_port,
                        queue_seconds=args.queue, processing_seconds=args.latency, expiry_seconds=args.expiry,
                        output_retention_seconds=args.output_retention, credits=args.credits,
                        retired_models=tuple(args.retired), strict=args.strict, output_shape=args.output_shape,
                        sync_shape=args.sync_shape, upload_key=args.upload_key, rate_limit=args.rate_limit,
                        rate_limit_window=args.rate_limit_window, rate_limit_polls=not args.rate_limit_ignores_polls,
                        replay=args.replay)
    emulator.start()
    print(f"Segmind emulator listening on {emulator.url}", flush=True)
    print(f"Output files served from {emulator.output_url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
