"""Every setting the app reads from its environment, in one table, parsed once.

`.env` (python-dotenv) is loaded first and fills in whatever the environment
does not set, so every variable below may live in either place. Nothing else
in the app reads `os.environ`.

Where runs are kept is decided here too, once. On a Hugging Face Space (SPACE_ID
is set) the container's own disk is lost at every restart, rebuild or sleep; a
disk mounted at /data (a Storage Bucket attached as a volume there, or the older
persistent-storage upgrade) is not. So on a Space whose /data is writable, runs
go to /data/outputs unless OUTPUT_DIR says otherwise. Everything the app keeps
across restarts lives in that folder: the runs, the key that encrypts each
browser's history id, and the models Segmind has retired.

Whether visitors can sign in with Hugging Face is decided here too. Only a
Space can offer it: `hf_oauth: true` in its README's front matter makes the Hub
set OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, OAUTH_SCOPES and OPENID_PROVIDER_URL
in the Space's environment (Gradio reads them as it is imported, so they cannot
come from `.env`).
Gradio attaches its login routes to any app with a LoginButton, and outside a
Space (SYSTEM=spaces is how Gradio tells) it attaches mocked ones that ask
huggingface.co who this machine's token belongs to as the app starts. So the
button is built only on a Space with all four variables; anywhere else the app
runs as it always has, each browser with its own history.
"""

from __future__ import annotations

import enum
import os
import tempfile
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any, Callable, Mapping

from dotenv import find_dotenv, load_dotenv

from components.api import constants
from components.api.config import ClientSettings, Secret, UploadMode
from components.api.schema import DEFAULT_MODEL, MODELS, default_model_on


def _model(raw: str) -> str:
    """A slug the registry knows: a model Segmind adds is a registry entry before it is a setting."""
    if raw not in MODELS:
        raise ValueError(f"is not a known model (known: {', '.join(MODELS)})")
    return raw


def _models(raw: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_model(part.strip()) for part in raw.split(",") if part.strip()))


def _base_url(raw: str) -> str:
    return raw.rstrip("/")


def _number(raw: str) -> float:
    return float(raw)


def _dollars(raw: str) -> float:
    value = float(raw)
    if not value >= 0:  # also refuses nan
        raise ValueError("must be an amount in US dollars, 0 or more")
    return value


def _count(raw: str) -> int:
    if not raw.isdigit():
        raise ValueError("must be a whole number")
    return int(raw)


def _flag(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be 1 or 0 (or true/false)")


def _secret(raw: str) -> Secret:
    return Secret(raw)


def _upload_mode(raw: str) -> UploadMode:
    try:
        return UploadMode(raw.lower())
    except ValueError:
        raise ValueError("must be 'upload' or 'inline'") from None


# Where a Hugging Face Space's persistent disk is mounted.
SPACE_DATA_ROOT = Path("/data")


class Storage(enum.Enum):
    """Where runs are kept, and so whether they outlive a restart."""

    LOCAL = "local"                        # not on a Space: a folder on this machine, kept until deleted
    SPACE_PERSISTENT = "space-persistent"  # on the Space's persistent disk: survives restarts and rebuilds
    SPACE_EPHEMERAL = "space-ephemeral"    # on the Space's own disk: lost at every restart, rebuild or sleep
    SPACE_CHOSEN = "space-chosen"          # OUTPUT_DIR outside the persistent disk: the deployer knows what it is


def writable(folder: Path) -> bool:
    """Whether files can be created in `folder` (it exists, and this process may write there)."""
    try:
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".write-probe-")
    except OSError:
        return False
    os.close(handle)
    os.unlink(probe)
    return True


def storage_for(output_dir: Path | None, *, on_space: bool, data_root: Path) -> tuple[Path | None, Storage]:
    """The runs folder (None: OUTPUT_DIR's default) and what kind of storage it is on."""
    if not on_space:
        return output_dir, Storage.LOCAL
    persistent = writable(data_root)
    if output_dir is None:
        return (data_root / "outputs", Storage.SPACE_PERSISTENT) if persistent else (None, Storage.SPACE_EPHEMERAL)
    inside = output_dir.resolve().is_relative_to(data_root.resolve())
    return output_dir, Storage.SPACE_PERSISTENT if persistent and inside else Storage.SPACE_CHOSEN


# What the Hub sets on a Space whose front matter says `hf_oauth: true`; Gradio's login routes need all four.
OAUTH_VARIABLES = ("OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET", "OAUTH_SCOPES", "OPENID_PROVIDER_URL")


def hf_sign_in_configured(env: Mapping[str, str]) -> bool:
    """Whether this app runs on a Space with OAuth set up, the only place Sign in with Hugging Face works."""
    on_space = env.get("SYSTEM") == "spaces" and bool(env.get("SPACE_ID"))
    return on_space and all(env.get(name) for name in OAUTH_VARIABLES)


@dataclass(frozen=True)
class EnvVar:
    """One environment variable: the setting it fills, how it is read, and what it means.

    The default is the AppSettings field's own.
    """

    name: str
    setting: str
    parse: Callable[[str], Any]
    meaning: str


ENV_VARS: tuple[EnvVar, ...] = (
    EnvVar("SEGMIND_API_KEY", "api_key", _secret,
           "Your Segmind key. Without it, runs go to the built-in emulator (simulated results)."),
    EnvVar("SEGMIND_REQUIRE_VISITOR_KEYS", "require_visitor_keys", _flag,
           "For public Spaces: visitors must use their own key; the deployer's key pays for nothing."),
    EnvVar("DEPLOYER_JOBS_PER_SESSION", "deployer_jobs_per_session", _count,
           "The most jobs the deployer's key pays for per browser session (a sweep counts every variant)."),
    EnvVar("DEPLOYER_JOBS_PER_HOUR", "deployer_jobs_per_hour", _count,
           "The most jobs the deployer's key pays for per hour, across everyone."),
    EnvVar("SEGMIND_REQUIRE_LOGIN", "require_login", _flag,
           "For public Spaces with Sign in with Hugging Face (hf_oauth): the deployer's key pays only for "
           "visitors signed in; a visitor's own key still works."),
    EnvVar("DEPLOYER_JOBS_PER_ACCOUNT_PER_DAY", "deployer_jobs_per_account_per_day", _count,
           "The most jobs the deployer's key pays for per signed-in Hugging Face account in any 24 hours "
           "(a sweep counts every variant)."),
    EnvVar("SEGMIND_ALLOW_VISITOR_KEYS", "allow_visitor_keys", _flag,
           "Lets visitors use their own key (typed in the page, or an x-api-key header to /edit)."),
    EnvVar("SEGMIND_API_BASE", "api_base", _base_url, "Inference host (v1 and v2)."),
    EnvVar("SEGMIND_STORAGE_BASE", "storage_base", _base_url,
           "Where local images are uploaded (/upload-asset) to get URLs for image_urls and mask."),
    EnvVar("SEGMIND_MODEL", "model", _model,
           "The model a page starts on, and /edit's default (one of the README's model table). Unset: "
           "gpt-image-1-edit until OpenAI's shutdown date for it, then the first successor still running "
           "(gpt-image-2), within SEGMIND_MODELS when that is set."),
    EnvVar("SEGMIND_MODELS", "models", _models,
           "Comma-separated slugs the model picker offers (default: every model in the table)."),
    EnvVar("SEGMIND_UPLOAD_MODE", "upload_mode", _upload_mode,
           "upload stores local images with Segmind first; inline sends them as data URIs (undocumented)."),
    EnvVar("SEGMIND_DEADLINE", "deadline", _number,
           "Seconds to follow a job before giving up (it may still finish)."),
    EnvVar("SEGMIND_POLL_INTERVAL", "poll_interval", _number, "Seconds between status polls."),
    EnvVar("SEGMIND_CONNECT_TIMEOUT", "connect_timeout", _number,
           "Seconds to wait for a connection."),
    EnvVar("SEGMIND_READ_TIMEOUT", "read_timeout", _number, "Seconds to wait for an answer."),
    EnvVar("SEGMIND_CAPTURE", "capture", Path,
           "Capture mode: append every raw exchange with Segmind to this JSON-lines file, without the key "
           "(long base64 images shortened to a prefix and length)."),
    EnvVar("MAX_CONCURRENT_JOBS", "max_concurrent_jobs", _count,
           "Jobs running at once across all visitors (they wait on Segmind, so this only protects memory)."),
    EnvVar("OUTPUT_DIR", "output_dir", Path,
           "Where runs are kept (default: outputs, or /data/outputs on a Hugging Face Space whose /data is "
           "writable)."),
    EnvVar("OUTPUT_MAX_MB", "output_max_mb", _number,
           "Bound on OUTPUT_DIR/runs, enforced on every write: failed and never-submitted runs are pruned "
           "first, then the oldest results of whoever holds the most."),
    EnvVar("OUTPUT_OWNER_MAX_MB", "output_owner_max_mb", _number,
           "One browser's share of OUTPUT_MAX_MB: past it, that browser's own oldest runs make room, never "
           "another's."),
    EnvVar("TRUSTED_PROXY", "trusted_proxy", _flag,
           "Read the client address from X-Forwarded-For (only behind a proxy that sets it; on by default "
           "on Hugging Face Spaces)."),
    EnvVar("MAX_RUNS_PER_ADDRESS", "max_runs_per_address", _count,
           "Live runs at once from one client address (a sweep counts every variant)."),
    EnvVar("SWEEP_CONFIRM_USD", "sweep_confirm_usd", _dollars,
           "A grid of runs whose estimated cost is above this many US dollars starts only after the visitor "
           "confirms that amount (0: every grid asks)."),
    EnvVar("EMULATOR_LATENCY", "emulator_latency", _number, "Seconds emulated jobs stay PROCESSING."),
    EnvVar("EMULATOR_QUEUE_SECONDS", "emulator_queue_seconds", _number, "Seconds emulated jobs stay QUEUED."),
    EnvVar("EMULATOR_RETIRED_MODELS", "emulator_retired_models", _models,
           "Comma-separated slugs the built-in emulator answers 410 for, to show how a retired model is handled."),
)


@dataclass(frozen=True)
class AppSettings:
    api_key: Secret | None = field(default=None, repr=False)
    require_visitor_keys: bool = False
    deployer_jobs_per_session: int | None = None
    deployer_jobs_per_hour: int | None = None
    require_login: bool = False
    deployer_jobs_per_account_per_day: int | None = None
    allow_visitor_keys: bool = True
    api_base: str = constants.DEFAULT_API_BASE
    storage_base: str = constants.DEFAULT_STORAGE_BASE
    model: str = DEFAULT_MODEL
    models: tuple[str, ...] = ()
    upload_mode: UploadMode = UploadMode.UPLOAD
    deadline: float = constants.DEADLINE
    poll_interval: float = constants.POLL_INTERVAL
    connect_timeout: float = constants.CONNECT_TIMEOUT
    read_timeout: float = constants.READ_TIMEOUT
    capture: Path | None = None
    max_concurrent_jobs: int = 32
    output_dir: Path = Path("outputs")
    output_max_mb: float = 2048.0
    output_owner_max_mb: float = 256.0
    trusted_proxy: bool = False         # from_env: on by default on a Hugging Face Space (SPACE_ID is set)
    max_runs_per_address: int = 16
    # Two of the dearest single images (gpt-image-1 high, oblong: $0.25): a sweep over the four qualities
    # of one model (about $0.26, $0.39 at `auto` on an oblong photo) goes straight through; a quality × model
    # grid of four models ($1.10 square) asks.
    sweep_confirm_usd: float = 0.5
    emulator_latency: float = 5.0
    emulator_queue_seconds: float = 1.0
    emulator_retired_models: tuple[str, ...] = ()
    # Decided by from_env from where it runs, not read from a variable of its own.
    storage: Storage = field(default=Storage.LOCAL, metadata={"derived": True})
    hf_sign_in: bool = field(default=False, metadata={"derived": True})  # Sign in with Hugging Face offered

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, dotenv: bool = True,
                 dotenv_path: str | os.PathLike | None = None, data_root: Path = SPACE_DATA_ROOT,
                 today: date | None = None) -> AppSettings:
        """The settings from `env` (default: the process environment), `.env` filling the gaps.

        `data_root` is where a Space's persistent disk would be (tests point it elsewhere). Without
        SEGMIND_MODEL, the model is the seed's until OpenAI's shutdown date for it (`today`'s date by
        default), then its successor: see `schema.default_model_on`.
        Raises ValueError naming the variable when a value can't be read.
        """
        if env is None:
            if dotenv:
                # Into os.environ, not just read: Gradio's own GRADIO_SERVER_* may be in .env too.
                load_dotenv(dotenv_path or find_dotenv(usecwd=True), override=False)
            env = os.environ
        chosen: dict[str, Any] = {}
        for var in ENV_VARS:
            raw = (env.get(var.name) or "").strip()
            if not raw:
                continue
            try:
                chosen[var.setting] = var.parse(raw)
            except ValueError as exc:
                raise ValueError(f"{var.name} {exc}: {raw if var.setting != 'api_key' else '<hidden>'!r}") from None
        if "model" not in chosen:
            chosen["model"] = default_model_on(today or date.today(), chosen.get("models", ()))
        on_space = bool(env.get("SPACE_ID"))
        # A Space's only way in is Hugging Face's proxy, which writes X-Forwarded-For.
        chosen.setdefault("trusted_proxy", on_space)
        chosen["hf_sign_in"] = hf_sign_in_configured(env)
        output_dir, chosen["storage"] = storage_for(chosen.get("output_dir"), on_space=on_space, data_root=data_root)
        if output_dir is not None:
            chosen["output_dir"] = output_dir
        return cls(**chosen)

    @property
    def client(self) -> ClientSettings:
        """What the Segmind client needs of these."""
        names = {f.name for f in fields(ClientSettings)}
        return ClientSettings(**{name: getattr(self, name) for name in names})

    @property
    def offered_models(self) -> tuple[str, ...]:
        """The picker's models, in the registry's order; the default one always among them."""
        chosen = set(self.models or MODELS) | {self.model}
        return tuple(slug for slug in MODELS if slug in chosen)

    @property
    def output_max_bytes(self) -> int:
        return int(self.output_max_mb * 1024**2)

    @property
    def output_owner_max_bytes(self) -> int:
        return int(min(self.output_owner_max_mb, self.output_max_mb) * 1024**2)



assert [v.setting for v in ENV_VARS] == [f.name for f in fields(AppSettings) if not f.metadata.get("derived")], \
    "ENV_VARS and AppSettings disagree"
