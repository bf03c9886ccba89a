"""Attacks a visitor to a public Space can make, replayed (bounded, loopback only) with their outcomes.

Each test names the attack from issue #13 it replays; SECURITY.md points here.
"""

from __future__ import annotations

import http.client
import http.server
import io
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gradio as gr
import httpx
import pytest
import requests
from gradio.components.image_editor import EditorData
from gradio_client import Client, handle_file
from PIL import Image
from gradio_client.exceptions import AppError, ValidationError

from components.api.config import ClientSettings, Secret
from components.app.backend import Backend
from components.app.history import HistoryStore
from components.app.refusals import Share, TooManyRuns, UnknownRequestId
from components.app.service import EditService
from components.app.settings import AppSettings
from components.emulator import Emulator
from components.media.decoding import DecodePool, InputError, open_bounded
from components.media.images import EditRequest, UrlText, prepare_inputs
from components.ui import build_app, copy, launch_options
from components.ui.editor_bounds import EDITOR_MAX_PENDING
from components.ui.janitor import CacheJanitor
from tests.conftest import KEY, png_bytes, wait_until

ROOT = Path(__file__).resolve().parents[1]


# 1. Memory -------------------------------------------------------------------------------------------------------

PEAK_SCRIPT = textwrap.dedent("""
    import io, json, sys, threading
    from pathlib import Path
    from PIL import Image

    def kib(field):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])

    from components.media.images import EditRequest, UrlText, prepare_inputs
    from components.media.memory import give_back_memory
    import base64

    def png(side):
        buffer = io.BytesIO()
        Image.new("RGBA", (side, side), (1, 2, 3, 255)).save(buffer, "PNG")
        return buffer.getvalue()

    bombs = [png(11_800) + bytes([i]) for i in range(3)]       # ~140 MP each, ~0.5 MB
    largest = [png(6_900) + bytes([i]) for i in range(3)]      # ~48 MP each: the most this app opens
    data_uri = UrlText("data:image/png;base64," + base64.b64encode(bombs[0]).decode())
    give_back_memory()
    Path("/proc/self/clear_refs").write_text("5")              # the peak from here on
    idle = kib("VmRSS")
    refusals = []

    def attack(source):
        inputs, issues = prepare_inputs([source])
        refusals.extend(issue.message for issue in issues)

    threads = [threading.Thread(target=attack, args=(s,)) for s in [*bombs, data_uri, *largest]]
    [t.start() for t in threads]
    [t.join() for t in threads]
    print(json.dumps({"idle_mb": idle / 1024, "peak_mb": kib("VmHWM") / 1024, "refusals": refusals}))
""")


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's /proc to read peak memory")
def test_bombs_and_the_largest_images_at_once_stay_within_the_decode_budget():
    """Attack 1: 140 MP PNGs of 0.5 MB (as files and as a typed data: link) and three of the largest images this
    app opens, all at once. Bombs are refused from the header; the large ones take turns in the decode pool."""
    result = subprocess.run([sys.executable, "-c", PEAK_SCRIPT], cwd=ROOT, capture_output=True, text=True,
                            timeout=240, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    import json
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"idle {measured['idle_mb']:.0f} MB, peak {measured['peak_mb']:.0f} MB")
    assert len(measured["refusals"]) == 4   # the three bombs and the data: link; the large images pass
    assert all("139 megapixels" in message and "at most 50 megapixels" in message for message in measured["refusals"])
    # One 48 MP decode peaks near 550 MB; three at once without the pool would be ~1.6 GB.
    assert measured["peak_mb"] - measured["idle_mb"] < 800


def test_a_bomb_is_refused_from_its_header_without_being_decoded():
    pool = DecodePool()
    with pytest.raises(InputError, match="at most 50 megapixels"):
        with open_bounded(png_bytes((8_000, 8_000), color=0, mode="L"), "the photo", pool=pool):
            pass
    assert pool.peak == 0   # nothing was ever reserved, so nothing was decoded


def test_decodes_wait_for_their_share_of_the_pool_and_a_full_pool_refuses_in_the_end():
    pool = DecodePool(budget_pixels=1_000, wait_seconds=0.2)
    image = png_bytes((30, 30), color=0, mode="L")   # 900 pixels: one fits, two don't
    inside, release = threading.Event(), threading.Event()

    def hold():
        with open_bounded(image, "first", pool=pool):
            inside.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert inside.wait(10)
    with pytest.raises(InputError, match="busy opening other large images"):
        with open_bounded(image, "second", pool=pool) as opened:
            opened.load()
    release.set()
    holder.join()
    assert pool.peak == 900 and pool.in_use == 0


def test_the_decode_pool_serves_everyone_in_turn():
    pool = DecodePool(budget_pixels=1_000)
    image = png_bytes((30, 30), color=0, mode="L")
    with ThreadPoolExecutor(4) as workers:
        def one(_):
            try:
                with open_bounded(image, "x", pool=pool) as opened:
                    opened.load()
                return "ok"
            except InputError:
                return "busy"
        outcomes = list(workers.map(one, range(8)))
    assert outcomes == ["ok"] * 8 and pool.peak <= 1_000 and pool.in_use == 0


def test_a_data_uri_is_held_to_the_pixel_limit_too():
    import base64
    link = UrlText("data:image/png;base64," + base64.b64encode(png_bytes((8_000, 8_000), color=0, mode="L")).decode())
    inputs, issues = prepare_inputs([link])
    assert inputs is None and "at most 50 megapixels" in issues[0].message


# 4. Capacity -----------------------------------------------------------------------------------------------------

@pytest.fixture
def slow_service(tmp_path):
    with Emulator(key=KEY, queue_seconds=0.0, processing_seconds=30.0) as emulator:
        settings = ClientSettings(api_base=emulator.url, storage_base=emulator.url, api_key=Secret(KEY),
                                  poll_interval=0.05)
        service = EditService(Backend(settings), HistoryStore(tmp_path / "history"), max_runs_per_address=3,
                              max_runs_per_owner=100, trusted_proxy=True)
        yield service
        for run in service.live():
            run.stop()
        assert service.wait_idle(20)
        service.backend.close()


def test_live_runs_are_bounded_per_address_whatever_owner_ids_a_script_makes_up(slow_service):
    """Attack 4: many made-up owner ids from one address. Sweeps count every variant."""
    request = EditRequest("x", [png_bytes()])
    for number in range(3):
        slow_service.start_edit(request, owner=f"made-up-{number}", address="203.0.113.7")
    with pytest.raises(TooManyRuns) as refused:
        slow_service.start_edit(request, owner="made-up-4", address="203.0.113.7")
    assert refused.value.share is Share.ADDRESS
    with pytest.raises(TooManyRuns):   # four variants from a fresh address: one more than its share
        slow_service.start_sweep([(str(n), request) for n in range(4)], owner="made-up-5", limit=1,
                                 address="198.51.100.1")
    assert slow_service.start_edit(request, owner="someone-else", address="198.51.100.2")  # others still start


def test_the_client_address_comes_from_x_forwarded_for_only_behind_a_trusted_proxy(tmp_path):
    backend = Backend(ClientSettings(api_key=Secret("k")))
    trusting = EditService(backend, HistoryStore(tmp_path / "a"), trusted_proxy=True)
    direct = EditService(backend, HistoryStore(tmp_path / "b"))
    # The proxy appends the address it saw; whatever the client wrote before it is its own word.
    assert trusting.client_address("10.0.0.1", "1.2.3.4, 198.51.100.9") == "198.51.100.9"
    assert direct.client_address("10.0.0.1", "1.2.3.4, 198.51.100.9") == "10.0.0.1"
    assert trusting.client_address("10.0.0.1", None) == "10.0.0.1"
    backend.close()


def test_a_flood_of_edit_calls_is_refused_at_its_address_and_a_normal_visitor_still_finishes(tmp_path):
    """Attack 4 through /edit: 40 concurrent calls from one address; another visitor's job completes."""
    image = tmp_path / "in.png"
    image.write_bytes(png_bytes((64, 48)))
    settings = AppSettings(output_dir=tmp_path / "out", trusted_proxy=True, max_runs_per_address=4)
    with Emulator(key=KEY, queue_seconds=0.0, processing_seconds=1.0) as emulator:
        backend = Backend(ClientSettings(poll_interval=0.05), emulator=emulator)
        demo = build_app(backend, settings=settings)
        _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **launch_options())
        try:
            def call(headers):
                try:
                    # A long read timeout: on a loaded machine 41 clients starting at once can wait past
                    # gradio_client's 20 s for a config, which says nothing about who was refused.
                    _, status = Client(url, verbose=False, headers=headers, httpx_kwargs={"timeout": 120}).predict(
                        prompt="x", images=[handle_file(str(image))], mask=None, api_name="/edit")
                    return status["status"]
                except (AppError, ValidationError) as exc:  # refused at the queue's door, or when its run starts
                    return str(exc)
                except Exception as exc:  # noqa: BLE001 - turned away (429) at its config or its upload
                    response = getattr(exc, "response", None)
                    turned_away = getattr(response, "status_code", None) == 429 or "TooManyRequests" in \
                        type(exc).__name__ or copy.TOO_MANY_REQUESTS[:40] in str(exc)
                    return "turned away" if turned_away else repr(exc)

            with ThreadPoolExecutor(41) as workers:
                flood = [workers.submit(call, {"x-forwarded-for": "203.0.113.66"}) for _ in range(40)]
                normal = workers.submit(call, {"x-forwarded-for": "198.51.100.5"})
                outcomes = [f.result() for f in flood]
                assert normal.result() == "COMPLETED"
            refused = [o for o in outcomes if "Your network address has 4 jobs running" in o or o == "turned away"]
            assert len(refused) >= 30 and outcomes.count("COMPLETED") + len(refused) == 40, outcomes
        finally:
            demo.close()
            backend.close()


# 5. Secrets ------------------------------------------------------------------------------------------------------

def test_resuming_someone_elses_request_id_needs_your_own_key(slow_service):
    """Attack 7: a request id seen in another visitor's status line, resumed into one's own history."""
    run = slow_service.start_edit(EditRequest("paid by the deployer", [png_bytes()]), owner="victim")
    while not run.record.request_id:
        run.wait(0.01)
    with pytest.raises(UnknownRequestId):
        slow_service.resume(run.record.request_id, owner="attacker")
    assert slow_service.history.records("attacker") == []


def test_the_deep_link_route_is_closed_and_oversized_bodies_are_refused(tmp_path):
    """Attack 5: Gradio's deep-link route wrote every component value of a session (a typed key too) to a file
    anyone could fetch. And bodies Gradio reads into memory whole."""
    with Emulator(key=KEY) as emulator:
        backend = Backend(ClientSettings(), emulator=emulator)
        demo = build_app(backend, settings=AppSettings(output_dir=tmp_path / "out"))
        _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **launch_options())
        try:
            assert requests.get(f"{url}gradio_api/deep_link", params={"session_hash": "abc"}, timeout=10).status_code \
                == 404
            # A header announcing 200 MB, and no body: refused before a byte of it is read.
            host, port = url.split("//")[1].rstrip("/").split(":")
            connection = http.client.HTTPConnection(host, int(port), timeout=10)
            connection.putrequest("POST", "/gradio_api/component_server")
            connection.putheader("content-type", "multipart/form-data; boundary=x")
            connection.putheader("content-length", str(200 * 1024 * 1024))
            connection.endheaders()
            assert connection.getresponse().status == 413
            connection.close()
            assert requests.get(url, timeout=10).status_code == 200   # the page itself is untouched
        finally:
            demo.close()
            backend.close()


def test_the_image_editor_refuses_far_layers_huge_paintings_and_holds_a_bounded_number_of_blobs(tmp_path):
    """Attack 1 through Gradio's image editor: blobs under any id and layer index, kept until an event reads
    them, and paintings decoded outside the pool."""
    with Emulator(key=KEY) as emulator:
        backend = Backend(ClientSettings(), emulator=emulator)
        demo = build_app(backend, settings=AppSettings(output_dir=tmp_path / "out"))
        _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **launch_options())
        editor = next(block for block in demo.blocks.values() if getattr(block, "elem_id", None) == "editor")
        try:
            def send(blob_id: str, index: object, blob: bytes) -> int:
                fields = {"component_id": str(editor._id), "session_hash": "attacker", "fn_name": "accept_blobs",
                          "type": "layer", "index": str(index), "id": blob_id}
                return requests.post(f"{url}gradio_api/component_server", data=fields,
                                     files={"blob": ("blob.png", blob, "image/png")}, timeout=30).status_code

            small = png_bytes((64, 48))
            assert send("far", 10**9, small) >= 400 and "far" not in editor.blob_storage  # no list of 10^9 entries
            assert send("near", 0, small) == 200 and "near" in editor.blob_storage         # what the page sends
            for n in range(EDITOR_MAX_PENDING + 36):
                send(f"never-read-{n}", 0, small)
            assert len(editor.blob_storage) == EDITOR_MAX_PENDING  # the oldest went first
            # A painting far larger than any working copy: refused from its header, never decoded.
            huge = Image.new("RGBA", (5_000, 5_000), (255, 0, 170, 255))
            buffer = io.BytesIO()
            huge.save(buffer, "PNG")
            assert send("huge", 0, buffer.getvalue()) == 200
            with pytest.raises(gr.Error, match="at most 2560 px a side"):
                editor.preprocess(EditorData(id="huge", background=None, layers=[], composite=None))
        finally:
            demo.close()
            backend.close()


# 2. Gradio's own folders -----------------------------------------------------------------------------------------

def test_gradio_cache_is_expired_and_bounded_in_bytes(tmp_path):
    """Attack 8: aborted uploads and cached copies that never expire."""
    folder = tmp_path / "gradio"
    (folder / "partial").mkdir(parents=True)
    aborted = folder / "partial" / "aborted-upload"
    aborted.write_bytes(b"x" * 1000)
    janitor = CacheJanitor(folder, max_age=3600, max_bytes=10_000)
    assert janitor.sweep() == 0 and aborted.exists()
    janitor.sweep(now=time.time() + 3 * 3600)  # three hours on
    assert not aborted.exists() and not (folder / "partial").exists()
    # Over the byte bound, the files that came in first go first.
    arrived = []
    for number in range(5):
        path = folder / f"arrived-{number}"
        path.write_bytes(b"y" * 1000)
        arrived.append(path)
    CacheJanitor(folder, max_age=3600, max_bytes=3000).sweep()
    assert [p.exists() for p in arrived] == [False, False, True, True, True]


def test_gradio_cache_ages_a_file_from_its_arrival_and_spares_an_apps_examples(tmp_path):
    """Gradio copies files in keeping their modification time: an example checked out yesterday is new to the
    cache. And an app's examples stay as long as it runs."""
    source = tmp_path / "yesterday.png"
    source.write_bytes(b"z" * 1000)
    os.utime(source, (time.time() - 24 * 3600, time.time() - 24 * 3600))
    folder = tmp_path / "gradio"
    folder.mkdir()
    copied = folder / "example.png"
    shutil.copy2(source, copied)  # as Gradio's move_files_to_cache does
    assert copied.stat().st_mtime < time.time() - 23 * 3600
    janitor = CacheJanitor(folder, max_age=3600)
    assert janitor.sweep() == 0 and copied.exists()

    with gr.Blocks() as demo:
        gr.Image(str(ROOT / "examples" / "mug.png"))  # an initial value: Gradio copies it in and keeps it
    (kept,) = {path for block in demo.blocks.values() for path in getattr(block, "keep_in_cache", ())}
    # Only the kept file's own folder is swept, three hours on and with no bytes allowed: this process's other
    # apps share Gradio's cache.
    leftover = Path(kept).parent / "aborted-upload"
    leftover.write_bytes(b"x" * 1000)
    janitor = CacheJanitor(Path(kept).parent, max_age=3600, max_bytes=0)
    janitor.spare_files_of(demo)
    assert janitor.sweep(now=time.time() + 3 * 3600) == 1
    assert Path(kept).exists() and not leftover.exists()


# 6. Owner ids: made and signed by the server, so a page can't choose one -------------------------------------


def test_only_owner_tokens_this_server_signed_are_honoured_and_its_secret_outlives_a_restart(tmp_path):
    store = HistoryStore(tmp_path)
    owners = store.owner_ids()
    browser = owners.new()
    assert owners.owner_of(browser.token) == browser.id
    owner, _, signature = browser.token.partition(".")
    forged = [owner, f"{owner}.{'A' * len(signature)}", f"{owner}.{signature.swapcase()}", f"{'x' * 24}.{signature}",
              browser.token + "x", browser.token[:-1], None, 12, ""]
    assert [owners.owner_of(token) for token in forged] == [None] * len(forged)
    # Gradio serves the browser-state secret to every page; the signing secret is another, never served.
    assert store.secret("owner-signing") != store.browser_secret()
    assert (tmp_path / ".owner-signing-secret").stat().st_mode & 0o777 == 0o600
    restarted = HistoryStore(tmp_path).owner_ids()
    assert restarted.owner_of(browser.token) == browser.id  # a restart keeps every browser's history
    assert HistoryStore(tmp_path / "other").owner_ids().owner_of(browser.token) is None


def test_a_made_up_owner_id_gets_a_new_one_while_an_old_unsigned_id_with_runs_keeps_its_history(tmp_path):
    store = HistoryStore(tmp_path)
    before_signing = "o" * 24  # a browser from before owner ids were signed, with a run in the store
    store.create(owner=before_signing, inputs=None, prompt="kept")
    owners = store.owner_ids()
    kept = owners.ensure(before_signing)
    assert kept.id == before_signing and owners.owner_of(kept.token) == before_signing
    made_up = owners.ensure("p" * 24)  # well formed, but nobody's: the script gets an id of its own
    assert made_up.id != "p" * 24 and owners.owner_of(made_up.token) == made_up.id
    assert owners.ensure(kept.token) == kept


def test_an_edit_call_over_its_address_share_is_refused_when_it_joins_the_queue(tmp_path):
    """Refused at the door: no queue slot, no decode; a program reads why, as it reads any refusal."""
    image = tmp_path / "in.png"
    image.write_bytes(png_bytes((64, 48)))
    settings = AppSettings(output_dir=tmp_path / "out", trusted_proxy=True, max_runs_per_address=1)
    with Emulator(key=KEY, queue_seconds=0.0, processing_seconds=30.0) as emulator:
        backend = Backend(ClientSettings(poll_interval=0.05), emulator=emulator)
        demo = build_app(backend, settings=settings)
        _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **launch_options())
        try:
            attacker = Client(url, verbose=False, headers={"x-forwarded-for": "203.0.113.66"},
                              httpx_kwargs={"timeout": 120})  # a loaded machine is slow, not a refusal
            first = attacker.submit(prompt="x", images=[handle_file(str(image))], mask=None, api_name="/edit")
            assert wait_until(lambda: len(demo.service.runs.live()) == 1)
            with pytest.raises(ValidationError, match="Your network address has 1 job"):
                attacker.predict(prompt="x", images=[handle_file(str(image))], mask=None, api_name="/edit")
            first.cancel()
        finally:
            demo.close()
            backend.close()


# A file input named by URL, which Gradio fetches itself ------------------------------------------------------------

class _FileServer(http.server.BaseHTTPRequestHandler):
    """A stand-in for a public file host: one small image, one that says it is huge, one that never ends."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path == "/photo.png":
            body = png_bytes((32, 24))
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/declared-huge.png":
            self.send_response(200)
            self.send_header("Content-Length", str(5 * 1024**3))
            self.end_headers()
        else:  # no length: 1 MB chunks until the reader stops
            self.send_response(200)
            self.end_headers()
            chunk = b"\0" * 1024 * 1024
            try:
                for _ in range(5_000):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass

    def log_message(self, *args) -> None:
        pass


def test_a_file_input_given_as_a_url_is_fetched_streamed_and_no_larger_than_an_upload(tmp_path, monkeypatch):
    """Gradio read such a URL whole into memory, any size: one call naming a 5 GB file was 5 GB."""
    from gradio import processing_utils

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FileServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with Emulator(key=KEY) as emulator:
        backend = Backend(ClientSettings(), emulator=emulator)
        demo = build_app(backend, settings=AppSettings(output_dir=tmp_path / "out"))
        _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **launch_options())
        try:
            client = Client(url, verbose=False)

            def refusal(name: str) -> str:
                """Gradio fetches files when the call joins its queue: a refusal is the join's answer."""
                with pytest.raises(httpx.HTTPStatusError) as refused:
                    client.predict(prompt="x", images=[handle_file(f"{base}/{name}")], mask=None, api_name="/edit")
                return refused.value.response.json()["detail"]

            # Loopback is not the public internet: refused, as Gradio's own fetch refuses it.
            assert "its address is not on the public internet" in refusal("photo.png")
            # Treated as a public host from here on (this machine has no other).
            monkeypatch.setattr(processing_utils, "PUBLIC_HOSTNAME_WHITELIST", ["127.0.0.1"])
            _, status = client.predict(prompt="x", images=[handle_file(f"{base}/photo.png")], mask=None,
                                       api_name="/edit")
            assert status["status"] == "COMPLETED"
            before = peak_rss_mb()
            assert "it is 5120 MB, and this app takes files up to 50 MB" in refusal("declared-huge.png")
            assert "it is over 50 MB, and this app takes files up to 50 MB" in refusal("endless.png")
            assert peak_rss_mb() - before < 100  # streamed to disk and stopped at the limit, not read whole
            assert not list(Path(demo.GRADIO_CACHE).rglob("*.part"))  # nothing half-written is left
        finally:
            demo.close()
            backend.close()
            server.shutdown()


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_costly_routes_are_rate_limited_per_address_before_their_bodies_are_read(tmp_path):
    """A script opening a fresh client per call fetches the config and uploads each time: past a page's burst,
    its address is answered 429 with Retry-After, while another address (and this machine) are served."""
    with Emulator(key=KEY) as emulator:
        backend = Backend(ClientSettings(), emulator=emulator)
        demo = build_app(backend, settings=AppSettings(output_dir=tmp_path / "out", trusted_proxy=True))
        _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **launch_options())
        try:
            def config(address: str | None) -> requests.Response:
                headers = {"x-forwarded-for": address} if address else {}
                return requests.get(f"{url}config", headers=headers, timeout=10)

            answers = [config("203.0.113.66").status_code for _ in range(45)]
            assert answers[:20] == [200] * 20 and 429 in answers  # a page's burst, then turned away
            refused = config("203.0.113.66")
            assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
            assert copy.TOO_MANY_REQUESTS in refused.text
            assert config("198.51.100.5").status_code == 200      # someone else is not held up
            assert all(config(None).status_code == 200 for _ in range(40))  # this machine's own address
        finally:
            demo.close()
            backend.close()
