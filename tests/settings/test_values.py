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
    assert settings.default_steps is None  # the model's own default
    assert settings.local.model == "m" and settings.local.device_watts == 120
    assert settings.sagemaker == Settings().sagemaker


def test_the_old_automatic_defaults_give_way_to_each_models_own(studio_home) -> None:
    studio_home.mkdir(parents=True, exist_ok=True)
    (studio_home / "settings.json").write_text(json.dumps(
        {"backend": "local", "default_steps": 30, "default_guidance": 7.0}))
    settings = load_settings()
    assert (settings.default_steps, settings.default_guidance) == (None, None)
    save_settings(settings.replace(default_steps=30))  # chosen now, in format 2: kept
    assert load_settings().default_steps == 30


def test_a_damaged_file_is_set_aside_not_lost(studio_home) -> None:
    studio_home.mkdir(parents=True, exist_ok=True)
    (studio_home / "settings.json").write_text("{not json")
    assert load_settings() == Settings()
    assert (studio_home / "settings.damaged.json").read_text() == "{not json"


def test_content_credentials_default_to_none_and_old_files_still_load(studio_home) -> None:
    from studio.settings.values import ContentCredentialsSettings

    assert Settings().content_credentials == ContentCredentialsSettings()
    assert not Settings().content_credentials.enabled
    studio_home.mkdir(parents=True, exist_ok=True)
    for old in ({"backend": "local", "default_steps": 30, "format": 1},  # format 1
                {"backend": "bedrock", "format": 2}):  # format 2, before the section
        (studio_home / "settings.json").write_text(json.dumps(old))
        assert load_settings().content_credentials == ContentCredentialsSettings()
    chosen = Settings().replace(content_credentials=ContentCredentialsSettings(
        "/keys/chain.pem", "/keys/signer.key"))
    save_settings(chosen)
    assert load_settings() == chosen and load_settings().content_credentials.enabled
    saved = json.loads((studio_home / "settings.json").read_text())
    assert saved["content_credentials"] == {"cert_path": "/keys/chain.pem",
                                            "key_path": "/keys/signer.key"}
    (studio_home / "settings.json").write_text(json.dumps(
        {"content_credentials": {"cert_path": 7, "key_path": "/k.pem"}}))
    assert load_settings().content_credentials == ContentCredentialsSettings("", "/k.pem")
