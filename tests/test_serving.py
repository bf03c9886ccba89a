"""The serve cache: every file handed to Gradio is a copy in one folder, bounded in files and bytes.

The cache's clock is a counter the tests move, so nothing here waits or depends on timing.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from components.ui import serving
from components.ui.serving import ServeCache, TooLargeToServe


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def on_disk(folder: Path) -> tuple[int, int]:
    """(files, bytes) under the folder, as the disk has them."""
    files = [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []
    return len(files), sum(p.stat().st_size for p in files)


def source_files(folder: Path, sizes: list[int]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, size in enumerate(sizes):
        path = folder / f"source-{index}.png"
        path.write_bytes(os.urandom(size))
        paths.append(path)
    return paths


def test_the_serve_folder_never_exceeds_its_bounds_under_many_serves(tmp_path):
    clock = Clock()
    folder = tmp_path / "serve" / "this-process"
    cache = ServeCache(folder, max_bytes=200_000, max_files=40, settle=5.0, clock=clock)
    rng = random.Random(13)
    sources = source_files(tmp_path / "kept", [rng.randint(1, 20_000) for _ in range(300)])
    for step in range(2000):
        clock.now += rng.random()
        choice = rng.random()
        source = rng.choice(sources)
        if choice < 0.4:
            served = cache.reuse(source) or cache.copy(source, unchanging=True)  # a gallery tile
        elif choice < 0.8:
            served = cache.copy(source)                                          # a result shown once
        else:
            served = cache.reserve(f"written-{step}.zip", 30_000)                 # a file the app writes
            served.write_bytes(os.urandom(rng.randint(0, 30_000)))
        assert served.is_file() and folder in served.parents
        files, size = on_disk(folder)
        assert files <= 40 and size <= 200_000, (step, files, size)
        assert cache.files <= 40 and size <= cache.bytes <= 200_000  # written files count as reserved until measured


def test_the_least_recently_served_go_first_and_a_copy_handed_out_again_stays(tmp_path):
    clock = Clock()
    cache = ServeCache(tmp_path / "serve", max_files=3, clock=clock)
    first, second, third, fourth = source_files(tmp_path / "kept", [100, 100, 100, 100])
    copies = {}
    for source in (first, second, third):
        clock.now += 1
        copies[source] = cache.copy(source, unchanging=True)
    clock.now += 1
    assert cache.reuse(first) == copies[first]  # handed out again: now the most recently served
    cache.copy(fourth, unchanging=True)
    assert cache.reuse(second) is None and not copies[second].exists()  # the least recently served went
    assert cache.reuse(first) == copies[first] and cache.reuse(third) == copies[third]
    assert cache.files == 3


def test_a_reused_copy_is_the_same_file_and_costs_no_copy(tmp_path):
    cache = ServeCache(tmp_path / "serve")
    (source,) = source_files(tmp_path / "kept", [5000])
    served = cache.copy(source, unchanging=True)
    assert served.read_bytes() == source.read_bytes() and served != source
    assert [cache.reuse(source) for _ in range(5)] == [served] * 5
    assert on_disk(tmp_path / "serve") == (1, 5000)


def test_a_copy_removed_behind_the_caches_back_is_made_again(tmp_path):
    cache = ServeCache(tmp_path / "serve")
    (source,) = source_files(tmp_path / "kept", [300])
    cache.copy(source, unchanging=True).unlink()  # a temp cleaner, say
    assert cache.reuse(source) is None and cache.files == 0 and cache.bytes == 0
    assert cache.copy(source, unchanging=True).read_bytes() == source.read_bytes()


def test_a_file_larger_than_the_whole_cache_is_refused_and_leaves_nothing(tmp_path):
    cache = ServeCache(tmp_path / "serve", max_bytes=1000)
    (large,) = source_files(tmp_path / "kept", [2000])
    with pytest.raises(TooLargeToServe) as refused:
        cache.copy(large)
    assert refused.value.size == 2000 and refused.value.limit == 1000
    with pytest.raises(TooLargeToServe):
        cache.reserve("everything.zip", 5000)
    assert on_disk(tmp_path / "serve") == (0, 0) and cache.files == 0 and cache.bytes == 0


def test_a_copy_that_fails_is_forgotten(tmp_path):
    cache = ServeCache(tmp_path / "serve")
    not_a_file = tmp_path / "a-folder"
    not_a_file.mkdir()
    with pytest.raises(OSError):
        cache.copy(not_a_file)
    assert cache.files == 0 and cache.bytes == 0 and on_disk(tmp_path / "serve") == (0, 0)


def test_a_file_the_app_writes_counts_as_reserved_then_as_written(tmp_path):
    clock = Clock()
    cache = ServeCache(tmp_path / "serve", settle=30.0, clock=clock)
    target = cache.reserve("run.zip", 10_000)
    assert cache.bytes == 10_000
    # A writer may name its file as it likes inside its folder (the working copy adds its own suffix).
    target.with_suffix(".jpg").write_bytes(b"x" * 1234)
    (small,) = source_files(tmp_path / "kept", [10])
    clock.now += 29
    cache.copy(small)
    assert cache.bytes == 10_000 + 10  # its writer may not be done yet
    clock.now += 2
    cache.copy(small)
    assert cache.bytes == 1234 + 10 + 10  # measured once settled


def test_copies_nobody_was_handed_for_an_hour_go_even_with_room(tmp_path):
    clock = Clock()
    cache = ServeCache(tmp_path / "serve", clock=clock)
    old, new = source_files(tmp_path / "kept", [100, 100])
    stale = cache.copy(old, unchanging=True)
    clock.now += serving.MAX_IDLE + 1
    cache.copy(new)
    assert not stale.exists() and cache.reuse(old) is None and cache.files == 1


def test_what_an_earlier_process_left_is_cleared_once_when_idle(tmp_path):
    parent = tmp_path / "serve"
    old, recent = parent / "123-dead" / "aa", parent / "456-alive" / "bb"
    for folder in (old, recent):
        folder.mkdir(parents=True)
        (folder / "tile.png").write_bytes(b"png")
    hours_ago = os.stat(parent).st_mtime - 2 * serving.MAX_IDLE
    os.utime(parent / "123-dead", (hours_ago, hours_ago))
    cache = ServeCache(parent / "this-process")
    (source,) = source_files(tmp_path / "kept", [10])
    cache.copy(source)
    assert not (parent / "123-dead").exists() and (recent / "tile.png").exists()


def test_servable_hands_out_copies_in_the_serve_folder_and_reuses_unchanging_ones(tmp_path):
    (kept,) = source_files(tmp_path / "kept", [4096])
    once, twice = serving.servable(kept), serving.servable(kept)
    assert once != twice and Path(once).read_bytes() == kept.read_bytes()
    tile = serving.servable_unchanging(kept)
    assert serving.servable_unchanging(kept) == tile
    for served in (once, twice, tile):
        assert serving.SERVE_DIR in Path(served).parents and tmp_path not in Path(served).parents
    assert serving.servable(None) is None and serving.servable_unchanging(None) is None
