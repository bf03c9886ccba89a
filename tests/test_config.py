"""Settings come from one table, read once after `.env`; the key never prints itself."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from components.api.config import Secret, UploadMode
from components.api.constants import DEFAULT_API_BASE
from components.app.settings import ENV_VARS, AppSettings, Storage

# A value for every variable, different from its default.
SAMPLES = {
    "SEGMIND_API_KEY": "sk-from-dotenv",
    "SEGMIND_REQUIRE_VISITOR_KEYS": "1",
    "DEPLOYER_JOBS_PER_SESSION": "7",
    "DEPLOYER_JOBS_PER_HOUR": "70",
    "SEGMIND_REQUIRE_LOGIN": "1",
    "DEPLOYER_JOBS_PER_ACCOUNT_PER_DAY": "20",
    "SEGMIND_ALLOW_VISITOR_KEYS": "0",
    "SEGMIND_API_BASE": "http://127.0.0.1:9/",
    "SEGMIND_STORAGE_BASE": "http://127.0.0.1:9/storage",
    "SEGMIND_MODEL": "gpt-image-2",
    "SEGMIND_MODELS": "gpt-image-2, gpt-image-1-edit-mini",
    "SEGMIND_UPLOAD_MODE": "inline",
    "SEGMIND_DEADLINE": "90",
    "SEGMIND_POLL_INTERVAL": "0.5",
    "SEGMIND_CONNECT_TIMEOUT": "2",
    "SEGMIND_READ_TIMEOUT": "12",
    "MAX_CONCURRENT_JOBS": "3",
    "OUTPUT_DIR": "/tmp/elsewhere",
    "OUTPUT_MAX_MB": "12.5",
    "OUTPUT_OWNER_MAX_MB": "4",
    "TRUSTED_PROXY": "1",
    "MAX_RUNS_PER_ADDRESS": "5",
    "SWEEP_CONFIRM_USD": "2.5",
    "EMULATOR_LATENCY": "0.25",
    "EMULATOR_QUEUE_SECONDS": "0.125",
    "EMULATOR_RETIRED_MODELS": "gpt-image-1-edit",
    "SEGMIND_CAPTURE": "/tmp/elsewhere/capture.jsonl",
}


@pytest.fixture
def clean_environment(monkeypatch):
    """No setting in the environment; whatever `.env` loading adds to it is taken out again afterwards."""
    saved = dict(os.environ)
    for var in ENV_VARS:
        monkeypatch.delenv(var.name, raising=False)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_every_variable_has_a_sample_here():
    assert set(SAMPLES) == {var.name for var in ENV_VARS}


def test_defaults_without_configuration():
    settings = AppSettings.from_env({}, today=date(2026, 11, 26))
    assert settings.api_key is None and settings.api_base == DEFAULT_API_BASE
    assert settings.upload_mode is UploadMode.UPLOAD
    # OpenAI shut gpt-image-1 down on 2026-10-23: a new deployment opens on a model that still runs.
    assert settings.model == "gpt-image-2"


def test_the_unset_model_follows_openai_shutdown_dates():
    assert AppSettings.from_env({}, today=date(2026, 10, 22)).model == "gpt-image-1-edit"  # the seed's, still running
    assert AppSettings.from_env({}, today=date(2026, 10, 23)).model == "gpt-image-2"
    # A deployer's choice is theirs, even of a model that is gone (its card says so).
    assert AppSettings.from_env({"SEGMIND_MODEL": "gpt-image-1-edit"}, today=date(2027, 1, 1)).model == \
        "gpt-image-1-edit"
    # Within SEGMIND_MODELS: the first listed that still runs, else the first listed.
    listed = {"SEGMIND_MODELS": "gpt-image-1-edit,gpt-image-1.5-edit,gpt-image-1-edit-mini"}
    assert AppSettings.from_env(listed, today=date(2026, 11, 26)).model == "gpt-image-1.5-edit"
    assert AppSettings.from_env(listed, today=date(2026, 12, 2)).model == "gpt-image-1-edit"
    assert AppSettings.from_env(listed, today=date(2026, 12, 2)).offered_models == tuple(listed["SEGMIND_MODELS"]
                                                                                         .split(","))


def test_every_variable_is_honoured_from_dotenv(tmp_path, clean_environment):
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{name}={value}\n" for name, value in SAMPLES.items()))
    settings = AppSettings.from_env(dotenv_path=str(env_file))
    default = AppSettings()
    for var in ENV_VARS:
        value = getattr(settings, var.setting)
        assert value == var.parse(SAMPLES[var.name]) and value != getattr(default, var.setting), var.name
    assert settings.client.api_base == "http://127.0.0.1:9" and settings.client.upload_mode is UploadMode.INLINE
    assert settings.output_dir == Path("/tmp/elsewhere") and settings.max_concurrent_jobs == 3


def test_the_environment_wins_over_dotenv(tmp_path, clean_environment, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("SEGMIND_MODEL=gpt-image-2\nSEGMIND_DEADLINE=90\n")
    monkeypatch.setenv("SEGMIND_MODEL", "gpt-image-1.5-edit")
    settings = AppSettings.from_env(dotenv_path=str(env_file))
    assert settings.model == "gpt-image-1.5-edit" and settings.deadline == 90


def test_the_key_is_masked_in_every_printed_form():
    settings = AppSettings.from_env({"SEGMIND_API_KEY": "sk-secret-123"})
    for text in (repr(settings), str(settings), repr(settings.client), f"{settings.api_key}", repr(settings.api_key)):
        assert "sk-secret-123" not in text
    assert Secret("a") == Secret("a") and not Secret("")


def test_bad_values_are_named_and_the_key_is_not_echoed():
    with pytest.raises(ValueError, match="SEGMIND_DEADLINE"):
        AppSettings.from_env({"SEGMIND_DEADLINE": "soon"})
    with pytest.raises(ValueError, match="SEGMIND_UPLOAD_MODE"):
        AppSettings.from_env({"SEGMIND_UPLOAD_MODE": "carrier-pigeon"})
    with pytest.raises(ValueError, match="MAX_CONCURRENT_JOBS"):
        AppSettings.from_env({"MAX_CONCURRENT_JOBS": "many"})
    for amount in ("-1", "nan", "lots"):
        with pytest.raises(ValueError, match="SWEEP_CONFIRM_USD"):
            AppSettings.from_env({"SWEEP_CONFIRM_USD": amount})


def test_settings_from_dotenv_reach_the_built_app(tmp_path, clean_environment):
    """MAX_CONCURRENT_JOBS used to be read at import, before `.env` was loaded, and so was silently ignored."""
    from components.app.backend import Backend
    from components.ui import build_app

    env_file = tmp_path / ".env"
    env_file.write_text(f"MAX_CONCURRENT_JOBS=3\nOUTPUT_DIR={tmp_path / 'out'}\nEMULATOR_LATENCY=0.1\n"
                        "SWEEP_CONFIRM_USD=0.1\n")
    settings = AppSettings.from_env(dotenv_path=str(env_file))
    backend = Backend.from_settings(settings)
    try:
        demo = build_app(backend, settings=settings)
        limits = {fn.api_name: fn.concurrency_limit for fn in demo.fns.values() if fn.api_name}
        assert limits["edit"] == 3 and limits["run_ui"] == 3
        assert demo.history.root == (tmp_path / "out").resolve()
        # The Sweep tab's default grid (four qualities, about $0.26) is above this deployer's threshold.
        cost_line = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "sweep-cost")
        assert "Above $0.1" in cost_line.value
    finally:
        backend.close()


def test_a_slug_outside_the_model_table_stops_start_up_with_one_line_naming_it(tmp_path):
    import subprocess
    import sys
    root = Path(__file__).resolve().parents[1]
    env = {"PATH": os.environ.get("PATH", ""), "SEGMIND_MODEL": "dall-e-3", "OUTPUT_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, str(root / "app.py")], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "Configuration error: SEGMIND_MODEL is not a known model (known: gpt-image-1-edit, gpt-image-1.5-edit, "
        "gpt-image-1-edit-mini, gpt-image-2): 'dall-e-3'"]


def test_on_a_space_with_a_writable_data_disk_runs_go_to_it(tmp_path):
    settings = AppSettings.from_env({"SPACE_ID": "someone/explorer"}, data_root=tmp_path)
    assert settings.output_dir == tmp_path / "outputs" and settings.storage is Storage.SPACE_PERSISTENT


def test_on_a_space_without_one_runs_stay_on_the_containers_own_disk_and_are_said_to_be_ephemeral(tmp_path):
    settings = AppSettings.from_env({"SPACE_ID": "someone/explorer"}, data_root=tmp_path / "no-such-disk")
    assert settings.output_dir == AppSettings().output_dir and settings.storage is Storage.SPACE_EPHEMERAL


def test_output_dir_wins_on_a_space_and_is_called_persistent_only_on_the_data_disk(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    chosen = AppSettings.from_env({"SPACE_ID": "someone/explorer", "OUTPUT_DIR": str(tmp_path / "elsewhere")},
                                  data_root=data)
    assert chosen.output_dir == tmp_path / "elsewhere" and chosen.storage is Storage.SPACE_CHOSEN
    inside = AppSettings.from_env({"SPACE_ID": "someone/explorer", "OUTPUT_DIR": str(data / "runs")}, data_root=data)
    assert inside.output_dir == data / "runs" and inside.storage is Storage.SPACE_PERSISTENT


def test_off_a_space_the_data_disk_is_not_looked_at(tmp_path):
    settings = AppSettings.from_env({}, data_root=tmp_path)
    assert settings.output_dir == Path("outputs") and settings.storage is Storage.LOCAL


SPACE_WITH_OAUTH = {"SYSTEM": "spaces", "SPACE_ID": "someone/explorer", "OAUTH_CLIENT_ID": "client",
                    "OAUTH_CLIENT_SECRET": "secret", "OAUTH_SCOPES": "openid profile",
                    "OPENID_PROVIDER_URL": "https://huggingface.co"}


def test_sign_in_is_offered_only_on_a_space_with_every_oauth_variable(tmp_path):
    """Gradio's login routes need all four variables, and outside a Space it mocks them by asking huggingface.co
    who this machine is as the app starts: anything less than the whole set means no sign-in, as today."""
    assert AppSettings.from_env(SPACE_WITH_OAUTH, data_root=tmp_path).hf_sign_in
    assert not AppSettings.from_env({}, data_root=tmp_path).hf_sign_in
    for left_out in SPACE_WITH_OAUTH:
        partial = {name: value for name, value in SPACE_WITH_OAUTH.items() if name != left_out}
        assert not AppSettings.from_env(partial, data_root=tmp_path).hf_sign_in, left_out
