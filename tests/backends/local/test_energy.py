"""Measured GPU energy. No GPU exists here, so NVML is replaced by a recorded power trace
(board power in watts at the times NVML reported it) — the one fake these tests allow."""

from __future__ import annotations

import itertools

import pytest

from backends.local.energy import PowerSampler, default_meter, integrate, nvml_reader
from backends.types import GenerationRequest

# Recorded from an RTX-class card over one SDXL-turbo run: idle, ramp, denoise, decode.
TRACE = [(0.0, 62.0), (0.25, 180.0), (0.5, 310.0), (0.75, 318.0), (1.0, 305.0),
         (1.25, 240.0), (1.5, 70.0)]


class RecordedTrace:
    """Replays TRACE: each reading returns the next sample's watts and moves its clock."""

    def __init__(self, samples=TRACE) -> None:
        self.samples = list(samples)
        self.index = -1

    def read(self) -> float:
        self.index = min(self.index + 1, len(self.samples) - 1)
        return self.samples[self.index][1]

    def clock(self) -> float:
        return self.samples[self.index][0]


def expected_joules(samples) -> float:
    return sum((t1 - t0) * (w0 + w1) / 2 for (t0, w0), (t1, w1) in zip(samples, samples[1:],
                                                                       strict=False))


def test_energy_is_the_integral_of_the_sampled_power() -> None:
    reading = integrate(TRACE)
    assert reading.joules == pytest.approx(expected_joules(TRACE))
    assert reading.seconds == pytest.approx(1.5) and reading.samples == len(TRACE)
    assert reading.average_watts == pytest.approx(expected_joules(TRACE) / 1.5)
    assert integrate([(0.0, 100.0)]).joules == 0


def test_the_sampler_replays_a_recorded_trace_exactly() -> None:
    trace = RecordedTrace()
    sampler = PowerSampler(trace.read, clock=trace.clock)
    for _ in TRACE:
        sampler.sample()
    assert sampler.reading().joules == pytest.approx(expected_joules(TRACE))


def test_the_background_thread_samples_until_stopped() -> None:
    watts = itertools.cycle([250.0])
    sampler = PowerSampler(lambda: next(watts), interval_s=0.01).start()
    import time

    time.sleep(0.1)
    reading = sampler.stop()
    assert reading.samples >= 3 and reading.average_watts == pytest.approx(250.0)
    assert sampler.stop().samples == reading.samples  # stopping twice changes nothing


def test_a_meter_that_fails_is_noticed_so_the_configured_wattage_is_used() -> None:
    def broken() -> float:
        raise RuntimeError("NVML_ERROR_GPU_IS_LOST")

    sampler = PowerSampler(broken)
    sampler.sample()
    assert sampler.failed and sampler.reading().joules == 0


def test_without_an_nvidia_gpu_there_is_no_meter() -> None:
    assert default_meter("cpu") is None and default_meter("mps") is None
    # This machine has no NVIDIA driver: NVML cannot start, and that is not an error.
    assert nvml_reader() is None or callable(nvml_reader())


def test_a_local_run_is_costed_from_the_measured_power(tiny_sd_path, local_backend_factory):
    from backends.local import EnergyPrice

    constant = RecordedTrace([(0.0, 250.0)])  # a flat 250 W trace: the average is exact
    backend = local_backend_factory(default_model=str(tiny_sd_path), previews=False,
                                    energy=EnergyPrice(usd_per_kwh=0.30, watts=65),
                                    power_meter=lambda device: constant.read)
    request = GenerationRequest(prompt="a mug", width=64, height=64, steps=2, seed=3)
    result = backend.generate(request)
    t = result.timings
    busy = t.load_s + t.inference_s + t.decode_s
    assert "250 W (measured by NVML)" in result.cost.basis
    assert result.cost.usd == pytest.approx(busy * 250 / 3.6e6 * 0.30, rel=1e-6)
    # The next estimate uses the measured draw, not the configured 65 W.
    assert "250 W (measured on the last run)" in backend.estimate_cost(request).basis


def test_without_a_meter_the_configured_wattage_is_used(tiny_sd_path, local_backend_factory):
    from backends.local import EnergyPrice

    backend = local_backend_factory(default_model=str(tiny_sd_path), previews=False,
                                    energy=EnergyPrice(usd_per_kwh=0.30, watts=65),
                                    power_meter=lambda device: None)
    result = backend.generate(GenerationRequest(prompt="a mug", width=64, height=64, steps=1,
                                                seed=3))
    assert "65 W (configured)" in result.cost.basis
