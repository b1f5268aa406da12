"""Settings: every one documented in .env.example, prefixes honoured."""

from __future__ import annotations

from pathlib import Path

from agent.config import Settings
from replica.settings import ReplicaSettings

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_documented_in_env_example() -> None:
    text = (ROOT / ".env.example").read_text()
    missing = [
        prefix + name.upper()
        for cls, prefix in ((Settings, "MTA_"), (ReplicaSettings, "MTA_REPLICA_"))
        for name in cls.model_fields
        if prefix + name.upper() not in text
    ]
    assert not missing, f"undocumented settings: {missing}"


def test_environment_overrides_with_the_mta_prefix(monkeypatch) -> None:
    monkeypatch.setenv("MTA_API_URL", "http://127.0.0.1:9/buergeransicht/api/citizen")
    monkeypatch.setenv("MTA_REPLICA_TOKEN_LIFETIME_S", "30")
    assert Settings().api_url.startswith("http://127.0.0.1:9/")
    assert ReplicaSettings().token_lifetime_s == 30


def test_selectors_default_to_the_repository_folder() -> None:
    assert Settings().selectors_dir == ROOT / "selectors"


def test_personal_data_is_scrubbed_from_log_messages() -> None:
    from agent.logs import scrub

    line = scrub('booked for erika@example.org phone +49 89 1234567 authKey="ab12cd" token eyJa.eyJb.sig')
    assert "erika@" not in line and "1234567" not in line and "ab12cd" not in line and "eyJa" not in line


def test_one_data_directory_holds_database_and_recordings(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("MTA_DATABASE_URL", raising=False)
    monkeypatch.delenv("MTA_RECORDINGS_DIR", raising=False)
    monkeypatch.setenv("MTA_DATA_DIR", str(tmp_path / "data"))
    settings = Settings(_env_file=None)
    assert settings.database_url == f"sqlite:///{tmp_path / 'data' / 'mta.db'}"
    assert settings.recordings_dir == tmp_path / "data" / "recordings"


def test_the_default_data_directory_is_per_user_not_the_working_folder(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("MTA_DATA_DIR", raising=False)
    monkeypatch.delenv("MTA_DATABASE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    settings = Settings(_env_file=None)
    assert settings.data_dir == tmp_path / "xdg" / "mta"
    assert settings.database_url.startswith("sqlite:////")  # absolute: any working folder finds it


def test_quiet_hours_are_read_as_the_chat_reads_them() -> None:
    """MTA_QUIET_HOURS and /quiet share one reading: a window, empty for none, nothing else."""
    import pytest
    from pydantic import ValidationError

    assert Settings(quiet_hours=" 22:00-07:00 ").quiet_hours == "22:00-07:00"
    assert Settings(quiet_hours="").quiet_hours == ""
    for wrong, why in (("07:00-07:00", "same time"), ("25:00-07:00", "HH:MM-HH:MM"), ("22-7", "HH:MM-HH:MM")):
        with pytest.raises(ValidationError, match=why):
            Settings(quiet_hours=wrong)
