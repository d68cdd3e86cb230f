"""`studio compare` across the local backend and our local SageMaker endpoint server."""

from __future__ import annotations

import json
import statistics

import pytest
from PIL import Image

from backends.sagemaker import SageMakerBackend
from backends.types import GenerationRequest
from studio.cli.main import main
from studio.compare.contact_sheet import CAPTION, CELL, HEADER, PAD
from studio.compare.runs import BackendChoice, parse_backends
from studio.library import Library
from studio.settings.values import load_settings


def compare_args(server_url: str, model, *extra: str) -> list[str]:
    return ["compare", "--prompt", "a ceramic mug on oak", "--backends", "local,sagemaker:test",
            "--endpoint-url", server_url, "--model", str(model), "--device", "cpu",
            "--width", "64", "--height", "64", "--steps", "2", "--seed", "7", *extra]


def test_compare_prints_a_correct_table_and_writes_a_contact_sheet(
        endpoint_server, tiny_sd_path, aws_env, tmp_path, capsys) -> None:
    sheet = tmp_path / "sheet.png"
    assert main(compare_args(endpoint_server.url, tiny_sd_path, "--runs", "2", "--json",
                             "--out", str(sheet))) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["seed"] == 7 and data["contact_sheet"] == str(sheet)
    local, sagemaker = data["backends"]
    assert (local["backend"], sagemaker["backend"]) == ("local", "sagemaker:test")
    assert sagemaker["burn_usd_per_hour"] == pytest.approx(1.408)
    library = Library.open(load_settings().library_path())
    for row in (local, sagemaker):
        assert (row["runs"], row["images"]) == (2, 2)
        records = [library.get(i) for i in row["image_ids"]]
        assert {r.seed for r in records} == {7}
        assert all(r.estimate is not None and not r.cost.estimated for r in records)
        # The table is history summarised: same latencies, same dollars.
        assert row["p50_s"] == pytest.approx(statistics.median(r.latency_s for r in records),
                                             abs=1e-3)
        assert row["usd_per_image"] == pytest.approx(statistics.mean(r.cost.usd
                                                                     for r in records))
        assert row["usd_per_image"] > 0
        assert row["images_per_usd"] == pytest.approx(1 / row["usd_per_image"])
    assert sagemaker["mean_parts"]["network_s"] > 0 and local["mean_parts"]["network_s"] == 0
    assert {r.backend for r in library.search(limit=10)} == {"local", "sagemaker"}
    with Image.open(sheet) as image:
        assert image.size == (PAD + 2 * (CELL + PAD), HEADER + 2 * (CELL + CAPTION + PAD) + PAD)


def test_compare_as_text(endpoint_server, tiny_sd_path, aws_env, capsys, studio_home) -> None:
    assert main(compare_args(endpoint_server.url, tiny_sd_path)) == 0
    out = capsys.readouterr().out
    header, rule, local, sagemaker = out.splitlines()[:4]
    for column in ("backend", "p50", "inference", "$/image", "images/$"):
        assert column in header
    assert local.startswith("local ") and sagemaker.startswith("sagemaker:test ")
    assert "sagemaker:test bills $1.408/h while up, used or not" in out
    sheet = out.split("Contact sheet: ")[1].strip()
    assert sheet.startswith(str(studio_home / "compare"))


def test_compare_refuses_a_budget_its_estimates_pass(endpoint_server, tiny_sd_path, aws_env,
                                                     capsys) -> None:
    assert main(compare_args(endpoint_server.url, tiny_sd_path, "--budget", "0")) == 5
    assert "Stopped before this comparison" in capsys.readouterr().err
    assert Library.open(load_settings().library_path()).count() == 0


def test_backend_choices_are_parsed_and_checked() -> None:
    assert parse_backends("local, sagemaker:ep ,bedrock:amazon.nova-canvas-v1:0") == [
        BackendChoice("local"), BackendChoice("sagemaker", "ep"),
        BackendChoice("bedrock", "amazon.nova-canvas-v1:0")]
    from backends.errors import InvalidRequest

    with pytest.raises(InvalidRequest, match="Unknown backend"):
        parse_backends("gpu")
    with pytest.raises(InvalidRequest, match="once"):
        parse_backends("local,local")


def test_an_endpoint_estimate_matches_the_actual_once_it_has_measured_a_run(
        endpoint_server, aws_env) -> None:
    backend = SageMakerBackend("test", endpoint_url=endpoint_server.url, usd_per_hour=1.408,
                               instance_count=2)
    request = GenerationRequest(prompt="a mug", width=64, height=64, steps=2, seed=1)
    actual = backend.generate(request).cost
    estimate = backend.estimate_cost(request)
    assert estimate.estimated and not actual.estimated
    assert estimate.usd == pytest.approx(actual.usd, rel=1e-9)
