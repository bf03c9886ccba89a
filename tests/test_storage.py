"""The kept runs cannot be weaponised: bounded on every write, per visitor and in all, inputs stored once.

Runs are made with HistoryStore directly (no server): inputs of random noise, so their PNGs don't
compress and their sizes are what the bounds see.
"""

from __future__ import annotations

import functools
import hashlib
import io
import random
from pathlib import Path

import pytest
from PIL import Image

from components.app.history import HistoryStore, RunRecord, StorageFull
from components.app.status import RunStatus
from tests.conftest import edit_inputs, owner_id

KB = 1024
MB = 1024**2
VICTIM, ATTACKER, OTHER = owner_id("storage-victim"), owner_id("storage-attacker"), owner_id("storage-other")


@functools.cache
def noise_png(side: int, seed: int) -> bytes:
    """A PNG of random pixels: about side × side × 3 bytes, whatever the compressor does."""
    pixels = random.Random(seed).randbytes(side * side * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def start(store: HistoryStore, owner: str, image: bytes, prompt: str = "an edit") -> RunRecord:
    return store.create(owner=owner, inputs=edit_inputs(prompt, [image]))


def fail(store: HistoryStore, record: RunRecord) -> RunRecord:
    """How a request with a bogus visitor key ends: FAILED, with no request id."""
    record.status, record.error = RunStatus.FAILED, "401: the API key was refused"
    store.save(record)
    return record


def complete(store: HistoryStore, record: RunRecord, result: bytes, backend: str = "segmind") -> RunRecord:
    record.request_id = hashlib.sha256(record.run_id.encode()).hexdigest()[:32]
    record.backend, record.status = backend, RunStatus.COMPLETED
    store.add_result(record, f"result-{record.run_id}.png", result)
    return record


def kept(store: HistoryStore, record: RunRecord) -> bool:
    """The run is still listed for its owner, with its result (if it had one) on disk."""
    listed = any(r.run_id == record.run_id for r in store.records(record.owner))
    return listed and (record.result is None or store.path(record, record.result) is not None)


def disk_bytes(root: Path) -> int:
    """What the store really holds on disk: every file under runs/ and blobs/, each inode once."""
    sizes = {}
    for path in [*(root / "runs").rglob("*"), *(root / "blobs").rglob("*")]:
        if path.is_file():
            stat = path.stat()
            sizes[stat.st_dev, stat.st_ino] = stat.st_size
    return sum(sizes.values())


def every_file(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("share", [None, 600 * KB], ids=["one bound for all", "a share per visitor"])
def test_failing_runs_with_big_inputs_never_remove_another_visitors_paid_result(tmp_path, share):
    store = HistoryStore(tmp_path, max_bytes=1_500 * KB, owner_max_bytes=share)
    paid = complete(store, start(store, VICTIM, noise_png(200, 1), "the victim's edit"), noise_png(200, 2))
    for attempt in range(30):  # each a new large photo sent with a bogus key
        fail(store, start(store, ATTACKER, noise_png(300, 100 + attempt), f"attack {attempt}"))
        assert kept(store, paid), f"the victim's paid result was pruned by attack {attempt}"
        assert store.size() <= store.max_bytes and store.size(ATTACKER) <= store.owner_max_bytes
    assert disk_bytes(tmp_path) == store.size()
    assert store.records(ATTACKER)  # the attacker's newest runs are kept; only their own old ones went


def test_the_store_never_exceeds_its_bound_after_any_write(tmp_path):
    store = HistoryStore(tmp_path, max_bytes=1_200 * KB, owner_max_bytes=700 * KB)
    chance = random.Random(7)
    owners = [owner_id(f"bounded-{n}") for n in range(3)]
    for step in range(60):
        owner = chance.choice(owners)
        image = noise_png(chance.choice([60, 120, 180]), chance.randrange(12))  # some photos sent again
        record = start(store, owner, image, f"step {step}")
        assert store.size() <= store.max_bytes and store.size(owner) <= store.owner_max_bytes
        ending = chance.choice(["failed", "paid", "emulator"])
        if ending == "failed":
            fail(store, record)
            store.status_tile(record, "Failed", "#c00")
        else:
            complete(store, record, noise_png(chance.choice([80, 160]), 1000 + step), backend=ending)
            store.thumbnail(record)
        assert store.size() <= store.max_bytes and store.size(owner) <= store.owner_max_bytes
        assert disk_bytes(tmp_path) == store.size()  # the running count is the truth on disk


def test_the_same_photo_used_by_ten_runs_costs_its_size_once(tmp_path):
    store = HistoryStore(tmp_path)
    photo = noise_png(1024, 3)
    assert len(photo) >= 3 * MB
    runs = [start(store, VICTIM if n % 2 else OTHER, photo, f"try {n}") for n in range(10)]
    records = sum(len((store.folder(r.run_id) / "record.json").read_bytes()) for r in runs)
    assert store.size() == len(photo) + records == disk_bytes(tmp_path)
    # Each visitor is charged for it once too, however many of their runs sent it.
    assert len(photo) < store.size(VICTIM) < len(photo) + records
    (blob,) = (tmp_path / "blobs").iterdir()
    assert blob.name == f"{hashlib.sha256(photo).hexdigest()}.png"
    for record in runs:  # every run folder still has its input, under the name it always had
        assert store.path(record, "image-1.png").read_bytes() == photo


def test_failed_runs_are_pruned_before_emulator_results_and_those_before_paid_results(tmp_path):
    store = HistoryStore(tmp_path)
    # The paid result is the oldest: age alone would prune it first.
    paid = complete(store, start(store, VICTIM, noise_png(100, 1)), noise_png(100, 2))
    emulated = complete(store, start(store, VICTIM, noise_png(100, 3)), noise_png(100, 4), backend="emulator")
    failed = [fail(store, start(store, VICTIM, noise_png(100, seed))) for seed in (5, 6)]
    store.max_bytes = store.size() + 20 * KB
    gone: dict[str, int] = {}
    for step in range(12):  # runs in progress arrive, and cannot be pruned themselves
        try:
            store.protect(start(store, VICTIM, noise_png(100, 50 + step)).run_id)
        except StorageFull:
            break
        for name, record in [("failed 1", failed[0]), ("failed 2", failed[1]), ("emulator", emulated),
                             ("paid", paid)]:
            if not kept(store, record):
                gone.setdefault(name, step)
        assert store.size() <= store.max_bytes
    assert gone["failed 1"] <= gone["failed 2"] < gone["emulator"] < gone["paid"]


def test_a_visitor_over_their_share_loses_only_their_own_oldest_runs(tmp_path):
    store = HistoryStore(tmp_path, max_bytes=10 * MB, owner_max_bytes=400 * KB)
    # The other visitor's runs are the oldest in the store.
    others = [complete(store, start(store, OTHER, noise_png(150, seed)), noise_png(150, seed + 50)) for seed in (1, 2)]
    mine = [complete(store, start(store, VICTIM, noise_png(150, seed)), noise_png(150, seed + 50))
            for seed in range(10, 16)]  # about 135 KB each: three fit the share
    assert [kept(store, r) for r in others] == [True, True]
    survivors = [kept(store, r) for r in mine]
    assert survivors[-1] and not survivors[0]
    assert survivors == sorted(survivors)  # whatever went was the oldest
    assert store.size(VICTIM) <= store.owner_max_bytes


def test_a_write_larger_than_the_share_is_refused_with_a_clear_message_and_writes_nothing(tmp_path):
    store = HistoryStore(tmp_path, owner_max_bytes=1 * MB)
    earlier = fail(store, start(store, VICTIM, noise_png(200, 1)))
    before, size, version = every_file(tmp_path), store.size(), store.version(VICTIM)
    with pytest.raises(StorageFull) as refused:
        start(store, VICTIM, noise_png(1024, 3))
    message = str(refused.value)
    assert "3.0 MB" in message and "1.0 MB" in message and "OUTPUT_OWNER_MAX_MB" in message, message
    assert isinstance(refused.value, OSError)
    assert every_file(tmp_path) == before and store.size() == size and store.version(VICTIM) == version
    assert [r.run_id for r in store.records(VICTIM)] == [earlier.run_id]  # nothing pruned for it either


def test_a_share_full_of_runs_in_progress_refuses_a_new_run_and_says_why(tmp_path):
    store = HistoryStore(tmp_path, owner_max_bytes=300 * KB)
    running = [start(store, VICTIM, noise_png(200, seed)) for seed in (1, 2)]  # 120 KB each, unfinished: kept
    with pytest.raises(StorageFull, match="in progress") as refused:
        start(store, VICTIM, noise_png(200, 3))
    assert "300 KB" in str(refused.value)
    assert all(kept(store, r) for r in running)
    start(store, OTHER, noise_png(200, 3))  # another visitor is not held back by them


def test_a_restart_computes_the_same_sizes(tmp_path):
    store = HistoryStore(tmp_path, max_bytes=3 * MB, owner_max_bytes=2 * MB)
    shared = noise_png(150, 1)
    for n, owner in enumerate([VICTIM, OTHER, VICTIM, ATTACKER, OTHER]):
        record = start(store, owner, shared if n % 2 else noise_png(150, 10 + n))
        if owner == ATTACKER:
            store.status_tile(fail(store, record), "Failed", "#c00")
        else:
            store.thumbnail(complete(store, record, noise_png(120, 20 + n)))
    restarted = HistoryStore(tmp_path, max_bytes=3 * MB, owner_max_bytes=2 * MB)
    assert restarted.size() == store.size() == disk_bytes(tmp_path)
    for owner in (VICTIM, OTHER, ATTACKER):
        assert restarted.size(owner) == store.size(owner) > 0
        assert [r.run_id for r in restarted.records(owner)] == [r.run_id for r in store.records(owner)]


def test_the_blob_of_a_pruned_run_goes_when_no_run_links_it(tmp_path):
    store = HistoryStore(tmp_path, owner_max_bytes=400 * KB)
    shared = noise_png(150, 1)  # about 66 KB
    blob = tmp_path / "blobs" / f"{hashlib.sha256(shared).hexdigest()}.png"
    mine = fail(store, start(store, VICTIM, shared))
    theirs = fail(store, start(store, OTHER, shared))
    assert blob.stat().st_nlink == 3  # the blob store's name and one per run
    fail(store, start(store, VICTIM, noise_png(350, 2)))  # over the victim's share: their old run goes
    assert not kept(store, mine) and kept(store, theirs)
    assert blob.exists()  # the other visitor's run still links it
    fail(store, start(store, OTHER, noise_png(350, 3)))
    assert not kept(store, theirs)
    assert not blob.exists()
    assert disk_bytes(tmp_path) == store.size()


def test_without_hard_links_each_run_keeps_a_copy_and_is_counted_as_one(tmp_path, monkeypatch):
    def no_links(*_args, **_kwargs):
        raise OSError("hard links are not supported here")

    monkeypatch.setattr("components.app.history.os.link", no_links)
    store = HistoryStore(tmp_path)
    photo = noise_png(100, 1)
    runs = [fail(store, start(store, VICTIM, photo)) for _ in range(2)]
    assert all(store.path(r, "image-1.png").read_bytes() == photo for r in runs)
    assert list((tmp_path / "blobs").iterdir()) == []
    assert store.size() == disk_bytes(tmp_path) == HistoryStore(tmp_path).size()


def test_the_version_changes_with_what_the_gallery_shows_and_only_then(tmp_path):
    store = HistoryStore(tmp_path, owner_max_bytes=300 * KB)
    assert store.version(VICTIM) == 0
    record = start(store, VICTIM, noise_png(200, 1))  # 120 KB
    created = store.version(VICTIM)
    assert created != 0 and store.version(OTHER) == 0
    record.notes.append("a note the gallery does not show")
    store.save(record)
    assert store.version(VICTIM) == created
    fail(store, record)
    failed = store.version(VICTIM)
    assert failed != created
    start(store, OTHER, noise_png(100, 2))
    assert store.version(VICTIM) == failed  # another visitor's runs change nothing here
    start(store, VICTIM, noise_png(250, 3))  # 190 KB more is over the share: the failed run is pruned
    assert not kept(store, record) and store.version(VICTIM) not in (created, failed)
