"""Progress on the terminal (rich bars with ETA and money), plain lines elsewhere, and the ML
libraries' own bars and warnings kept off the user's terminal."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console

from backends.types import Progress
from studio.cli.batch import ProgressPrinter
from studio.cli.progress import BatchProgress, GenerateProgress, terminal_console
from studio.cli.quiet import QUIET_ENVIRONMENT, silence_third_party


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _console(buffer: io.StringIO) -> Console:
    return Console(file=buffer, force_terminal=True, width=120, color_system=None)


RUN = [Progress("load", 0, 1, "Loading tiny-sd"), Progress("load", 1, 1, "Loaded tiny-sd"),
       *(Progress("denoise", step, 4, f"Step {step}/4") for step in range(1, 5))]


def test_a_terminal_gets_a_bar_with_eta_and_running_cost() -> None:
    buffer = io.StringIO()
    progress = GenerateProgress(0.02, console=_console(buffer))
    with progress:
        for event in RUN[:4]:
            progress(event)
        progress.bar.refresh()
        halfway = buffer.getvalue()
        for event in RUN[4:]:
            progress(event)
    out = buffer.getvalue()
    assert "Loading tiny-sd" in halfway
    assert "Generating" in halfway and "2/4" in halfway and "ETA" in halfway
    assert "≈ $0.01 of $0.02 est." in halfway  # half the steps: half the estimate
    assert "4/4" in out and "≈ $0.02 of $0.02 est." in out


def test_elsewhere_plain_lines_when_a_phase_starts_or_ends() -> None:
    stream = io.StringIO()
    with GenerateProgress(0.02, stream=stream) as progress:
        assert progress.bar is None
        for event in RUN:
            progress(event)
    assert stream.getvalue().splitlines() == [
        "Loading tiny-sd", "Loaded tiny-sd", "Step 1/4", "Step 4/4"]
    assert "\r" not in stream.getvalue()


def test_json_never_gets_a_bar_even_on_a_terminal() -> None:
    terminal = _Terminal()
    assert terminal_console(terminal) is not None
    assert terminal_console(terminal, as_json=True) is None
    assert terminal_console(io.StringIO()) is None
    with GenerateProgress(0.5, as_json=True, stream=terminal) as progress:
        progress(RUN[-1])
    assert terminal.getvalue() == "Step 4/4\n"


def _event(done: int, failed: int = 0, kind: str = "progress", message: str = "",
           eta_s: float | None = 90.0) -> SimpleNamespace:
    return SimpleNamespace(kind=kind, done=done, failed=failed, total=10,
                           spent_usd=0.004 * (done + failed), eta_s=eta_s, message=message,
                           items=())


def test_a_batch_bar_shows_done_failures_money_and_eta() -> None:
    buffer = io.StringIO()
    bar = BatchProgress(_console(buffer))
    bar.show(_event(3))
    bar.note("retry SKU-4 front: timeout (attempt 2 of 3)")
    bar.show(_event(6, failed=1, eta_s=None))
    bar.bar.refresh()
    bar.stop()
    out = buffer.getvalue()
    assert "retry SKU-4 front: timeout (attempt 2 of 3)" in out
    assert "3/10" in out and "$0.012 spent · ETA 1 min 30 s" in out
    assert "7/10" in out and "1 failed" in out and "$0.028 spent · ETA …" in out


def test_the_batch_printer_uses_the_bar_on_a_terminal_and_lines_elsewhere(
        tmp_path: Path) -> None:
    terminal = _Terminal()
    printer = ProgressPrinter(tmp_path, as_json=False, stream=terminal)
    assert printer.bar is not None
    plain = io.StringIO()
    printer = ProgressPrinter(tmp_path, as_json=False, stream=plain)
    assert printer.bar is None
    printer(_event(1))
    printer(_event(1, kind="retry", message="retry SKU-1"))
    line, retry = plain.getvalue().splitlines()
    assert "1/10" in line and "ETA 1 min 30 s" in line and "\r" not in line
    assert retry == "retry SKU-1"
    assert ProgressPrinter(tmp_path, as_json=True, stream=terminal).bar is None


def test_silencing_keeps_what_the_user_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in QUIET_ENVIRONMENT:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.delenv("STUDIO_VERBOSE", raising=False)
    monkeypatch.setenv("TRANSFORMERS_VERBOSITY", "info")
    silence_third_party()
    assert os.environ["TRANSFORMERS_VERBOSITY"] == "info"
    assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "1"
    assert os.environ["TQDM_DISABLE"] == "1"


_NOISY = """
import sys, warnings
from studio.cli.quiet import silence_third_party
silence_third_party()
from tqdm.auto import tqdm
list(tqdm(range(3), desc="a library's bar"))
from transformers import CLIPImageProcessor
CLIPImageProcessor()  # "requires torchvision (not installed)" without torchvision
import diffusers.utils.logging as diffusers_logging
list(diffusers_logging.tqdm(range(2), desc="Loading pipeline components"))
warnings.warn("an old API", FutureWarning)
print("ran")
"""


@pytest.mark.slow
def test_no_third_party_bar_or_warning_reaches_the_terminal() -> None:
    pytest.importorskip("transformers")
    pytest.importorskip("diffusers")
    env = {key: value for key, value in os.environ.items()
           if key not in QUIET_ENVIRONMENT and key != "STUDIO_VERBOSE"}
    run = subprocess.run([sys.executable, "-c", _NOISY], capture_output=True, text=True,
                         env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "ran\n"
    assert run.stderr == ""
