"""Local estimates use measured throughput: this process's runs and the library's history.

The issue saw "0.0 s × 300 W (typical cuda) … no run measured yet" after 20 CPU runs: the
throughput lived only in the backend instance (lost on every launch and never shared with the
CLI), and an unknown device was priced as CUDA. These tests pin the fix with a real library.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends.local.cost import (
    EnergyPrice,
    MeasuredRun,
    ThroughputMemory,
    device_kind,
    estimate_energy,
    seconds_text,
    step_work,
)
from backends.types import Cost, GenerationRequest, Timings
from studio.backend_kinds import create_backend
from studio.costs.stats import local_run_history
from studio.library import Library
from studio.settings.values import LocalSettings, Settings
from tests.ui.record_factory import record_images

PRICE = EnergyPrice(usd_per_kwh=0.2)


def _row(**changes) -> dict:
    row = dict(model="tiny-sd", device="cpu fp32", mode="txt2img", steps=4, width=500,
               height=500, count=2, load_s=3.0, inference_s=9.0, decode_s=1.0, strength=1.0)
    row.update(changes)
    return row


def test_device_kinds_are_read_from_recorded_labels() -> None:
    assert device_kind("cuda (NVIDIA H100 80GB HBM3) bf16, offloaded") == "cuda"
    assert device_kind("cpu fp32") == "cpu" and device_kind("mps (Apple GPU) fp16") == "mps"
    assert device_kind("ml.g5.xlarge") == ""


def test_a_run_row_becomes_a_measurement_or_nothing() -> None:
    run = MeasuredRun.from_row(_row())
    assert run == MeasuredRun("tiny-sd", "cpu", 10.0, step_work(4, 500, 500, 2), 3.0)
    assert MeasuredRun.from_row(_row(mode="img2img", strength=0.5)).work == pytest.approx(1.0)
    for broken in (_row(inference_s=0, decode_s=0), _row(device="ml.g5.xlarge"),
                   _row(width="wide"), _row(model=""), {"model": "x"}):
        assert MeasuredRun.from_row(broken) is None


_VALUES = st.one_of(st.none(), st.integers(-10**6, 10**6), st.text(max_size=12),
                    st.floats(allow_nan=True, allow_infinity=True))


@given(st.dictionaries(st.sampled_from(sorted(_row())), _VALUES))
def test_no_damaged_row_breaks_the_estimate(row: dict) -> None:
    run = MeasuredRun.from_row(row)
    if run is not None:
        assert run.seconds > 0 and run.work > 0 and run.device in ("cuda", "mps", "cpu")
    memory = ThroughputMemory(lambda: [row])
    seconds, _ = memory.estimate((str(row.get("model")), "cpu"), 1.0)
    assert 0 < seconds < float("inf")


def test_history_makes_the_first_estimate_measured() -> None:
    memory = ThroughputMemory(lambda: [_row(), _row(inference_s=19.0)])
    work = step_work(4, 500, 500, 2)
    seconds, measured = memory.estimate(("tiny-sd", "cpu"), work)
    assert measured and seconds == pytest.approx(0.7 * 10 + 0.3 * 20)  # recent runs weigh more
    assert memory.estimate(("other-model", "cpu"), work)[1] is False


def test_an_unreadable_history_only_costs_the_seeding() -> None:
    def broken():
        raise OSError("disk gone")

    memory = ThroughputMemory(broken)
    assert memory.estimate(("m", "cpu"), 1.0) == (6.0, False)


def test_no_run_measured_yet_only_when_true_and_load_counts_until_loaded() -> None:
    memory = ThroughputMemory()
    guess = estimate_energy(memory, "tiny-sd", "cpu", 1.0, PRICE, loaded=False)
    assert "no run measured yet for this model on cpu" in guess.basis
    assert "(typical cpu)" in guess.basis and "cuda" not in guess.basis
    memory.record(("tiny-sd", "cpu"), 2.0, 1.0, load_s=8.0)
    cold = estimate_energy(memory, "tiny-sd", "cpu", 1.0, PRICE, loaded=False)
    warm = estimate_energy(memory, "tiny-sd", "cpu", 1.0, PRICE, loaded=True)
    assert "no run measured yet" not in cold.basis + warm.basis
    assert cold.basis.startswith("Energy for about 10.0 s") and "8.0 s to load" in cold.basis
    assert warm.basis.startswith("Energy for about 2.0 s") and "load" not in warm.basis
    assert cold.usd == pytest.approx(5 * warm.usd)


def test_seconds_under_one_keep_two_significant_digits() -> None:
    assert seconds_text(0.0423) == "0.042 s" and seconds_text(0.5) == "0.50 s"
    assert seconds_text(3600) == "3600.0 s" and seconds_text(0) == "0 s"


def _record_local_runs(library: Library, runs: int, device: str = "cpu fp32") -> None:
    for seed in range(runs):
        record_images(library, model="tiny-sd", device=device, seed=seed, steps=4,
                      size=(64, 64), count=2, backend="local",
                      timings=Timings(load_s=1.0, inference_s=4.0, decode_s=0.5, total_s=5.5),
                      cost=Cost(0.00002, "Energy for 5.5 s", False))


def test_the_library_history_is_read_oldest_first_and_only_local(tmp_path: Path) -> None:
    library = Library.open(tmp_path / "lib")
    try:
        _record_local_runs(library, 3)
        record_images(library, backend="bedrock", device="us-west-2", model="sd3")
        history = local_run_history(tmp_path / "lib")
    finally:
        library.close()
    assert len(history) == 3
    assert {run["device"] for run in history} == {"cpu fp32"}
    first = history[0]
    assert (first["strength"], first["mode"], first["steps"]) == (1.0, "txt2img", 4)
    assert local_run_history(tmp_path / "nowhere") == []
    (tmp_path / "damaged").mkdir()
    (tmp_path / "damaged" / "studio.db").write_bytes(b"not a database at all" * 100)
    assert local_run_history(tmp_path / "damaged") == []


def test_a_fresh_backend_prices_measured_cpu_runs_after_a_restart(tmp_path: Path,
                                                                  tiny_sd_path) -> None:
    library = Library.open(tmp_path / "lib")
    try:
        _record_local_runs(library, 20)
    finally:
        library.close()
    model_dir = tmp_path / "tiny-sd"
    model_dir.symlink_to(tiny_sd_path, target_is_directory=True)
    settings = Settings(backend="local", library_folder=str(tmp_path / "lib"),
                        local=LocalSettings(model=str(model_dir)))
    backend = create_backend(settings)  # a new process: nothing measured in memory
    estimate = backend.estimate_cost(GenerationRequest(prompt="a mug", steps=4, width=64,
                                                       height=64, count=2))
    assert "no run measured yet" not in estimate.basis
    assert "cuda" not in estimate.basis and "(typical cpu)" in estimate.basis
    # 4.5 s of denoising and decoding, plus the 1 s load a cold model takes.
    assert estimate.basis.startswith("Energy for about 5.5 s")
    assert backend.describe().device == "CPU" and backend.describe().label == "Local"
