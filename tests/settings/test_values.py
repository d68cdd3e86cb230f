from __future__ import annotations

import json

from studio.settings.values import LocalSettings, Settings, load_settings, save_settings


def test_missing_file_gives_defaults(studio_home) -> None:
    assert load_settings() == Settings()


def test_round_trip_with_nested_sections(studio_home) -> None:
    settings = Settings(backend="local", electricity_usd_per_kwh=0.31,
                        local=LocalSettings(model="/models/sdxl", device_watts=250.0))
    save_settings(settings)
    assert load_settings() == settings
    assert not list(studio_home.glob(".tmp-*"))


def test_unknown_and_mistyped_values_keep_their_defaults(studio_home) -> None:
    (studio_home).mkdir(parents=True, exist_ok=True)
    (studio_home / "settings.json").write_text(json.dumps({
        "backend": "local", "default_steps": "many", "colour": "red",
        "local": {"model": "m", "device_watts": 120}, "sagemaker": "not a section",
    }))
    settings = load_settings()
    assert settings.default_steps == 30
    assert settings.local.model == "m" and settings.local.device_watts == 120
    assert settings.sagemaker == Settings().sagemaker


def test_a_damaged_file_is_set_aside_not_lost(studio_home) -> None:
    studio_home.mkdir(parents=True, exist_ok=True)
    (studio_home / "settings.json").write_text("{not json")
    assert load_settings() == Settings()
    assert (studio_home / "settings.damaged.json").read_text() == "{not json"
