"""Where the weights go: on the GPU, through model CPU offload, or nowhere with what it needs."""

from __future__ import annotations

from backends.local.memory import GIB, plan_placement


def test_a_model_that_fits_stays_on_the_gpu() -> None:
    placement = plan_placement(total_bytes=7 * GIB, largest_bytes=5 * GIB, free_bytes=20 * GIB)
    assert (placement.kind, placement.note) == ("device", "")


def test_a_model_too_big_for_the_gpu_whose_largest_part_fits_is_offloaded_and_says_so() -> None:
    # FLUX.1 dev in bf16 is about 33 GB with its T5 encoder, 24 GB of it the transformer.
    placement = plan_placement(total_bytes=33 * GIB, largest_bytes=24 * GIB, free_bytes=27 * GIB)
    assert placement.kind == "offload" and placement.runs
    assert "model CPU offload (needs 35.5 GB to stay on the GPU, 27.0 GB free)" == placement.note


def test_a_model_that_cannot_run_says_what_it_needs() -> None:
    placement = plan_placement(total_bytes=33 * GIB, largest_bytes=24 * GIB, free_bytes=12 * GIB,
                               host_free_bytes=64 * GIB)
    assert not placement.runs
    assert "needs 26.5 GB of GPU memory even with model CPU offload" in placement.note
    assert "this GPU has 12.0 GB free" in placement.note


def test_offload_also_needs_room_in_system_memory() -> None:
    placement = plan_placement(total_bytes=33 * GIB, largest_bytes=24 * GIB, free_bytes=27 * GIB,
                               host_free_bytes=16 * GIB)
    assert placement.kind == "impossible"
    assert "33.0 GB of free system memory" in placement.note
