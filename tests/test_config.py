"""Settings from the environment and .env; the key never prints itself."""

from __future__ import annotations

import pytest

from components.config import DEFAULT_API_BASE, Secret, Settings, UploadMode


def test_defaults_without_configuration():
    settings = Settings.from_env({})
    assert settings.api_key is None and settings.api_base == DEFAULT_API_BASE
    assert settings.model == "gpt-image-1-edit" and settings.upload_mode is UploadMode.UPLOAD


def test_dotenv_fills_in_and_the_environment_wins(tmp_path, monkeypatch):
    for name in ("SEGMIND_API_KEY", "SEGMIND_MODEL", "SEGMIND_DEADLINE"):
        monkeypatch.delenv(name, raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text("SEGMIND_API_KEY=sk-from-dotenv\nSEGMIND_MODEL=gpt-image-2-edit\nSEGMIND_DEADLINE=90\n")
    monkeypatch.setenv("SEGMIND_MODEL", "from-environment")
    settings = Settings.from_env(dotenv_path=str(env_file))
    assert settings.api_key.reveal() == "sk-from-dotenv"
    assert settings.model == "from-environment" and settings.deadline == 90


def test_the_key_is_masked_in_every_printed_form():
    settings = Settings.from_env({"SEGMIND_API_KEY": "sk-secret-123"})
    for text in (repr(settings), str(settings), f"{settings.api_key}", repr(settings.api_key)):
        assert "sk-secret-123" not in text
    assert Secret("a") == Secret("a") and not Secret("")


def test_bad_numbers_and_modes_are_named():
    with pytest.raises(ValueError, match="SEGMIND_DEADLINE"):
        Settings.from_env({"SEGMIND_DEADLINE": "soon"})
    with pytest.raises(ValueError, match="SEGMIND_UPLOAD_MODE"):
        Settings.from_env({"SEGMIND_UPLOAD_MODE": "carrier-pigeon"})
