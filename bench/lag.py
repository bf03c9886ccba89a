"""Completion lag and status requests: this app's client beside the vendor SDK's wait().

Jobs run on the emulator with a length that follows quality and size (as the
real model's does), from 2 s to 20 s, plus a 60 s kind. Each round runs one job
of every kind through both clients at once; the app's client starts with no
history, like the SDK, and learns from the jobs it has finished.

Lag: from the moment the emulator marks the job COMPLETED to the moment the
client holds the result (for this app: the image bytes, downloaded; for the
SDK: the result body, without the image).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

import segmind

from bench.common import mean, percentile, table
from components.api.client import SegmindClient
from components.api.config import ClientSettings
from components.emulator import Emulator
from components.media.images import EditRequest, load_image, prepare
from components.api.schema import JobState

KEY = "bench-key"
SHORT_KINDS = {("low", "1024x1024"): 2.0, ("medium", "1024x1024"): 6.0, ("high", "1024x1024"): 12.0,
               ("high", "1536x1024"): 20.0}
LONG_KIND = ("high", "1024x1536")
LONG_SECONDS = 60.0


@dataclass
class Sample:
    client: str
    kind: tuple[str, str]
    round: int
    seconds: float
    lag: float
    polls: int


def latency(params: dict) -> tuple[float, float]:
    kind = (params.get("quality"), params.get("size"))
    base = LONG_SECONDS if kind == LONG_KIND else SHORT_KINDS.get(kind, 5.0)
    return random.uniform(0.2, 0.6), base * random.uniform(0.97, 1.03)


def run(rounds: int = 3, long_rounds: int = 2) -> str:
    random.seed(7)
    samples: list[Sample] = []
    lock = threading.Lock()
    with Emulator(key=KEY, latency=latency) as emulator:
        ours = SegmindClient(ClientSettings(api_base=emulator.url, storage_base=emulator.url, poll_interval=1.0,
                                      deadline=300), api_key=KEY)
        sdk = segmind.SegmindClient(api_key=KEY, base_url=emulator.url + "/v1")
        image_url = ours.upload([load_image(ours_image())])[0]

        def ours_job(kind, round_number):
            request = EditRequest("bench", [image_url], options={"quality": kind[0], "size": kind[1]})
            for event in ours.stream(prepare(request)):
                if event.state is JobState.COMPLETED:
                    held = time.monotonic()
                    record(event.request_id, held, "this app", kind, round_number)

        def sdk_job(kind, round_number):
            job = sdk.submit_async("gpt-image-1-edit", prompt="bench", image_urls=[image_url],
                                   quality=kind[0], size=kind[1])
            job.wait(timeout=300)  # the SDK's default 1.0 s cadence
            record(job.request_id, time.monotonic(), "vendor SDK", kind, round_number)

        def record(request_id, held, who, kind, round_number):
            job = emulator.jobs[request_id]
            with lock:
                samples.append(Sample(who, kind, round_number, job.completed_at - job.submitted_at,
                                      held - job.completed_at, job.polls))

        def kind_rounds(kind, count):
            for round_number in range(count):
                pair = [threading.Thread(target=ours_job, args=(kind, round_number)),
                        threading.Thread(target=sdk_job, args=(kind, round_number))]
                for thread in pair:
                    thread.start()
                for thread in pair:
                    thread.join()

        threads = [threading.Thread(target=kind_rounds, args=(kind, rounds)) for kind in SHORT_KINDS]
        threads.append(threading.Thread(target=kind_rounds, args=(LONG_KIND, long_rounds)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return report(samples)


def ours_image() -> bytes:
    import io

    from PIL import Image
    buffer = io.BytesIO()
    Image.new("RGB", (512, 512), (40, 90, 160)).save(buffer, format="PNG")
    return buffer.getvalue()


def report(samples: list[Sample]) -> str:
    rows = []
    short = [s for s in samples if s.kind != LONG_KIND]
    for label, chosen in (("all rounds", short), ("after the first round", [s for s in short if s.round > 0])):
        for who in ("this app", "vendor SDK"):
            mine = [s for s in chosen if s.client == who]
            minutes = sum(s.seconds for s in mine) / 60
            rows.append([f"{who}, {label}", len(mine), percentile([s.lag for s in mine], 0.5),
                         percentile([s.lag for s in mine], 0.95), mean([s.polls for s in mine]),
                         sum(s.polls for s in mine) / minutes if minutes else float("nan")])
    lag_table = table(["client, 2-20 s jobs", "jobs", "lag p50 (s)", "lag p95 (s)", "polls per job",
                       "polls per minute of job"], rows)
    long_rows = []
    for sample in sorted((s for s in samples if s.kind == LONG_KIND), key=lambda s: (s.round, s.client)):
        long_rows.append([sample.client, "first (no history)" if sample.round == 0 else "later",
                          sample.seconds, sample.lag, sample.polls])
    long_table = table(["client, 60 s job", "round", "job length (s)", "lag (s)", "status polls"], long_rows)
    return f"{lag_table}\n\n{long_table}"


if __name__ == "__main__":
    print(run())
