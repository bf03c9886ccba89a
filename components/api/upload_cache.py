"""Images already stored with Segmind, so identical bytes are uploaded once.

Keyed by the account (a hash of its key, never the key) and the bytes' SHA-256;
bounded in entries and in age, since how long Segmind keeps an asset is not
documented.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict

from components.api.config import Secret


def account_of(key: Secret | None) -> str:
    return hashlib.sha256(key.reveal().encode()).hexdigest()[:16] if key else "anonymous"


class UploadCache:
    def __init__(self, max_entries: int = 512, ttl_seconds: float = 6 * 3600) -> None:
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self._urls: OrderedDict[tuple[str, str], tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, account: str, digest: str) -> str | None:
        with self._lock:
            entry = self._urls.get((account, digest))
            if entry is None:
                return None
            url, stored = entry
            if time.monotonic() - stored > self.ttl_seconds:
                del self._urls[(account, digest)]
                return None
            self._urls.move_to_end((account, digest))
            return url

    def put(self, account: str, digest: str, url: str) -> None:
        with self._lock:
            self._urls[(account, digest)] = (url, time.monotonic())
            self._urls.move_to_end((account, digest))
            while len(self._urls) > self.max_entries:
                self._urls.popitem(last=False)

    def __len__(self) -> int:
        return len(self._urls)
