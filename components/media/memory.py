"""Giving freed memory back to the system after work on large images.

A 12-megapixel photo decodes to ~36 MB, and each run decodes on its own thread.
glibc keeps what such threads freed in per-thread arenas, so a server that has
handled a few large photos stays ~300 MB above its baseline (measured by
`python -m bench.memory`) although Python holds none of it. `malloc_trim`
returns it. Elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util


def _libc_trim():
    name = ctypes.util.find_library("c")
    try:
        trim = getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None
    if trim is not None:
        trim.argtypes = [ctypes.c_size_t]
        trim.restype = ctypes.c_int
    return trim


_TRIM = _libc_trim()


def give_back_memory() -> None:
    """Return the allocator's free memory to the system (a few milliseconds)."""
    if _TRIM is not None:
        _TRIM(0)
