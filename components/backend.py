"""Which service answers a run: Segmind's API, or the built-in emulator.

With a deployer key (`SEGMIND_API_KEY`) runs go to Segmind. Without one the
app starts the emulator in process and says plainly that results are
simulated. A visitor's own key (when the deployer allows it) sends that
visitor's runs to Segmind, through a client made for that run alone.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import secrets
import threading
from contextlib import contextmanager
from typing import Iterator, Mapping

from components.client import SegmindClient
from components.config import DEFAULT_API_BASE, Secret, Settings
from components.emulator import Emulator
from components.polling import DurationModel
from components.quota import DeployerQuota
from components.upload_cache import UploadCache


class BackendKind(enum.Enum):
    SEGMIND = "segmind"
    EMULATOR = "emulator"


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    return default if not raw else raw in ("1", "true", "yes", "on")


class Backend:
    def __init__(
        self,
        settings: Settings,
        *,
        allow_visitor_keys: bool = True,
        emulator: Emulator | None = None,
        quota: DeployerQuota | None = None,
    ) -> None:
        self.settings = settings
        self.allow_visitor_keys = allow_visitor_keys
        self._emulator = emulator
        self._shared: SegmindClient | None = None
        self.quota = quota or DeployerQuota()
        # Shared by every client this backend makes: how long jobs take, and what was uploaded
        # (the cache is keyed by account, so one visitor never gets another's entries).
        # The emulator's job times say nothing about Segmind's: each service learns its own.
        self.durations = DurationModel()
        self.emulator_durations = DurationModel()
        self.uploads = UploadCache()
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Backend:
        settings = Settings.from_env(env)
        env = os.environ if env is None else env
        emulator = None
        if settings.api_key is None:
            emulator = Emulator(
                key=secrets.token_urlsafe(16),
                queue_seconds=float(env.get("EMULATOR_QUEUE_SECONDS", "1.0")),
                processing_seconds=float(env.get("EMULATOR_LATENCY", "5.0")),
            ).start()
        quota = DeployerQuota.from_env(env)
        return cls(settings, allow_visitor_keys=_flag(env, "SEGMIND_ALLOW_VISITOR_KEYS", True) or
                   quota.require_visitor_keys, emulator=emulator, quota=quota)

    @property
    def default_kind(self) -> BackendKind:
        return BackendKind.EMULATOR if self._emulator is not None else BackendKind.SEGMIND

    def deployer_pays(self, visitor_key: str | None) -> bool:
        """Whether a run with this (possibly absent) visitor key is billed to the deployer's key."""
        return self._emulator is None and not (self.allow_visitor_keys and (visitor_key or "").strip())

    def admit(self, session: str, visitor_key: str | None, jobs: int = 1) -> str | None:
        """None when these jobs may start; otherwise why not, for the visitor."""
        return self.quota.take(session, jobs) if self.deployer_pays(visitor_key) else None

    @property
    def emulator(self) -> Emulator | None:
        return self._emulator

    def describe(self) -> str:
        """One sentence for the banner: who answers, without any secret."""
        if self._emulator is not None:
            text = ("**Simulated results.** No `SEGMIND_API_KEY` is configured, so runs go to the built-in "
                    "Segmind emulator: it follows the real API's flow, but its images are stamped "
                    "re-renders of your input, not GPT Image 1's work.")
            if self.allow_visitor_keys:
                text += " Enter your own Segmind key under *API key* to use the real service."
            return text
        where = "" if self.settings.api_base == DEFAULT_API_BASE else f" at `{self.settings.api_base}`"
        text = f"**Live:** runs go to Segmind's API{where} (`{self.settings.model}`) and are billed."
        if self.quota.require_visitor_keys:
            return text + " **Use your own Segmind key** under *API key and deadline*: this Space does not pay."
        limits = [f"{self.quota.per_session} per session" if self.quota.per_session is not None else "",
                  f"{self.quota.per_hour} per hour" if self.quota.per_hour is not None else ""]
        if any(limits):
            text += f" The Space's key pays for at most {' and '.join(l for l in limits if l)} jobs."
        if self.allow_visitor_keys:
            text += " You may use your own key under *API key and deadline*."
        return text

    def _emulator_settings(self) -> Settings:
        assert self._emulator is not None
        return dataclasses.replace(self.settings, api_base=self._emulator.url, storage_base=self._emulator.url,
                                   api_key=Secret(self._emulator.key))

    @contextmanager
    def client(self, visitor_key: str | None = None) -> Iterator[tuple[SegmindClient, BackendKind]]:
        """The client for one run; a visitor's key gets a client of its own, closed afterwards."""
        visitor_key = (visitor_key or "").strip() if self.allow_visitor_keys else ""
        if visitor_key:
            own = SegmindClient(self.settings, api_key=Secret(visitor_key), durations=self.durations,
                                uploads=self.uploads)
            try:
                yield own, BackendKind.SEGMIND
            finally:
                own.close()
            return
        with self._lock:
            if self._shared is None:
                settings = self._emulator_settings() if self._emulator is not None else self.settings
                durations = self.emulator_durations if self._emulator is not None else self.durations
                self._shared = SegmindClient(settings, durations=durations, uploads=self.uploads)
        yield self._shared, self.default_kind

    def close(self) -> None:
        if self._shared is not None:
            self._shared.close()
        if self._emulator is not None:
            self._emulator.stop()
