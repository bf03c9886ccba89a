"""Which service answers a run: Segmind's API, or the built-in emulator.

With a deployer key (`SEGMIND_API_KEY`) runs go to Segmind. Without one the
app starts the emulator in process (the UI says plainly that results are
simulated). A visitor's own key (when the deployer allows it) sends that
visitor's runs to Segmind, through a client made for that run alone.
"""

from __future__ import annotations

import dataclasses
import enum
import secrets
import threading
from contextlib import contextmanager
from typing import Iterator

from components.api.client import SegmindClient
from components.api.config import ClientSettings, Secret
from components.api.constants import DEFAULT_API_BASE
from components.api.polling import DurationModel
from components.api.schema import MODELS
from components.api.upload_cache import UploadCache
from components.app.quota import DeployerQuota
from components.app.settings import AppSettings
from components.emulator import Emulator


class BackendKind(enum.Enum):
    SEGMIND = "segmind"
    EMULATOR = "emulator"


class Backend:
    def __init__(
        self,
        settings: ClientSettings,
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
        self.durations = DurationModel(priors={slug: model.latency_prior for slug, model in MODELS.items()})
        self.emulator_durations = DurationModel()
        self.uploads = UploadCache()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: AppSettings) -> Backend:
        emulator = None
        if settings.api_key is None:
            emulator = Emulator(
                key=secrets.token_urlsafe(16),
                queue_seconds=settings.emulator_queue_seconds,
                processing_seconds=settings.emulator_latency,
                retired_models=settings.emulator_retired_models,
            ).start()
        quota = DeployerQuota(settings.require_visitor_keys, settings.deployer_jobs_per_session,
                              settings.deployer_jobs_per_hour, require_sign_in=settings.require_login,
                              per_account_per_day=settings.deployer_jobs_per_account_per_day,
                              sign_in_offered=settings.hf_sign_in)
        return cls(settings.client, allow_visitor_keys=settings.allow_visitor_keys or settings.require_visitor_keys,
                   emulator=emulator, quota=quota)

    @property
    def kind(self) -> BackendKind:
        """Who answers runs made without a visitor's key."""
        return BackendKind.EMULATOR if self._emulator is not None else BackendKind.SEGMIND

    @property
    def is_default_api(self) -> bool:
        return self.settings.api_base == DEFAULT_API_BASE

    def own_key(self, visitor_key: str | None) -> str:
        """The visitor's own key, if they gave one and may use it; otherwise ""."""
        return (visitor_key or "").strip() if self.allow_visitor_keys else ""

    def deployer_pays(self, visitor_key: str | None) -> bool:
        """Whether a run with this (possibly absent) visitor key is billed to the deployer's key."""
        return self._emulator is None and not self.own_key(visitor_key)

    def admit(self, session: str, visitor_key: str | None, jobs: int = 1, *, account: str | None = None) -> None:
        """Raise a Refusal when the deployer's limits stop these jobs (`account`: the signed-in visitor's)."""
        if self.deployer_pays(visitor_key):
            self.quota.take(session, jobs, account=account)

    @property
    def emulator(self) -> Emulator | None:
        return self._emulator

    def _emulator_settings(self) -> ClientSettings:
        assert self._emulator is not None
        return dataclasses.replace(self.settings, api_base=self._emulator.url, storage_base=self._emulator.url,
                                   api_key=Secret(self._emulator.key))

    @contextmanager
    def client(self, visitor_key: str | None = None) -> Iterator[tuple[SegmindClient, BackendKind]]:
        """The client for one run; a visitor's key gets a client of its own, closed afterwards."""
        visitor_key = self.own_key(visitor_key)
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
        yield self._shared, self.kind

    def close(self) -> None:
        if self._shared is not None:
            self._shared.close()
        if self._emulator is not None:
            self._emulator.stop()
