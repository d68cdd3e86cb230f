"""The first-run banner: what stands in the way, and Settings opened on the page that fixes
it."""

from __future__ import annotations

from backends.types import BackendInfo
from studio.settings.values import SageMakerSettings, Settings
from studio.ui.window.first_run import first_run_page


def _info(available: bool) -> BackendInfo:
    return BackendInfo(name="local", label="Local", device="CPU", available=available,
                       detail="Local generation needs the 'local' extra.")


def test_the_page_is_the_one_the_banner_is_about() -> None:
    assert first_run_page(Settings(backend="local"), _info(True)) == "local"
    assert first_run_page(Settings(backend="sagemaker"), _info(True)) == "sagemaker"
    assert first_run_page(Settings(backend="bedrock"), _info(True)) == "bedrock"
    # This machine cannot generate: the banner suggests another backend, chosen here.
    assert first_run_page(Settings(backend="local"), _info(False)) == "generation"


def test_open_settings_from_the_banner_opens_the_model_page(open_window) -> None:
    window = open_window()
    assert "No model chosen yet" in window.banner.label.text()
    window.banner.button.click()
    dialog = window.settings_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.current_page().key == "local"
    dialog.close()
    # The menu's Settings… still opens where the user left it.
    dialog.show_page("costs")
    window.open_settings()
    assert dialog.current_page().key == "costs"
    dialog.close()


def test_a_sagemaker_banner_opens_the_sagemaker_page(open_window) -> None:
    from studio.settings.values import save_settings

    save_settings(Settings(backend="sagemaker", sagemaker=SageMakerSettings()))
    window = open_window()
    assert window.banner.isVisible()
    window.banner.button.click()
    assert window.settings_dialog.current_page().key == "sagemaker"
    window.settings_dialog.close()
