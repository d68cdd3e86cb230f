"""`studio batch` as a user runs it: the tiny model, a real kill -9, a real endpoint server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from backends.endpoint.server import EndpointServer, _json_answer
from studio.batch.store import BatchStore
from studio.cli.main import main
from studio.library import Library

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--width", "64", "--height", "64", "--steps", "1", "--device", "cpu"]


def catalog(tmp_path: Path, products: int) -> Path:
    path = tmp_path / "catalog.csv"
    rows = "".join(f"P-{i:02d},item {i},{['red', 'blue'][i % 2]}\n" for i in range(products))
    path.write_text("sku,title,color\n" + rows, encoding="utf-8")
    return path


def library_count(home: Path) -> int:
    with Library.open(home / "library") as library:
        return library.count()


def test_kill_9_mid_batch_then_resume_makes_each_image_exactly_once(
        tmp_path: Path, studio_home: Path, tiny_sd_path: Path, capsys) -> None:
    out = tmp_path / "export"
    # One torch thread: the tiny model gains nothing from more, and on a shared 2-core runner
    # oversubscribed threads make each 64×64 image ten times slower.
    env = {**os.environ, "STUDIO_HOME": str(studio_home), "HF_HUB_OFFLINE": "1",
           "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "studio.cli.main", "batch", str(catalog(tmp_path, 6)),
               "--template", "a {color} {title}", "--axis", "background=white|marble",
               "--model", str(tiny_sd_path), *TINY, "--out", str(out),
               "--seed", "5", "--json"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    try:
        seen = 0
        for line in process.stdout:  # type: ignore[union-attr]
            seen += json.loads(line)["event"] == "image"
            if seen == 3:
                os.kill(process.pid, signal.SIGKILL)
                break
    finally:
        process.kill()
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    store = BatchStore()
    before = store.job(1)
    assert before.total == 12 and 3 <= before.counts["done"] < 12
    assert main(["batch", "--list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "interrupted"

    resumed = subprocess.run([sys.executable, "-m", "studio.cli.main", "batch", "--resume", "1",
                              "--json"], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout.splitlines()[-1])
    assert (summary["state"], summary["done"], summary["failed"]) == ("finished", 12, 0)

    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    images = [f for f in files if f.endswith(".png")]
    assert len(images) == 12
    assert files == sorted([*images, "manifest.csv", "manifest.json"])  # no temp files
    assert "P-00/P-00_white_s1.png" in images
    manifest = json.loads((out / "manifest.json").read_text())["images"]
    assert sorted(row["file"] for row in manifest) == images
    assert len((out / "manifest.csv").read_text(encoding="utf-8-sig").splitlines()) == 13
    # Every image was generated once: one library image per item, none made twice.
    assert library_count(studio_home) == 12
    items = store.items(1)
    assert len({i.library_image_id for i in items}) == 12
    assert sum(i.attempts for i in items) <= 13  # only an interrupted item may have run again

    listed = subprocess.run([sys.executable, "-m", "studio.cli.main", "batch", "--list", "--json"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    job = json.loads(listed.stdout.splitlines()[0])
    assert (job["id"], job["state"], job["done"], job["total"]) == (1, "finished", 12, 12)


class BusyServer(EndpointServer):
    """Our local endpoint, throttling the first two calls and every call for `always-busy`."""

    throttled = 0

    def invoke_endpoint(self, name: str, body: bytes, content_type: str, accept: str,
                        **kwargs):
        if b"always-busy" in body or self.throttled < 2:
            self.throttled += 1
            return _json_answer(400, {"message": "Rate exceeded"}, "ThrottlingException")
        return super().invoke_endpoint(name, body, content_type, accept, **kwargs)


@pytest.fixture
def busy_server(tiny_sd_path: Path):
    server = BusyServer.load(str(tiny_sd_path), port=0)
    with server:
        yield server


def test_transient_errors_from_the_endpoint_are_retried_then_fail_with_a_reason(
        tmp_path: Path, busy_server: BusyServer, aws_env, capsys) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"sku": "OK-1", "title": "mug"}\n{"sku": "BUSY", "title": "always-busy"}\n',
                    encoding="utf-8")
    out = tmp_path / "out.zip"
    code = main(["batch", str(path), "--template", "a {title}", "--backend", "sagemaker",
                 "--endpoint", "test", "--endpoint-url", busy_server.url, *TINY[:-2],
                 "--retries", "2", "--retry-delay", "0", "--concurrency", "2", "--out",
                 str(out), "--json"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert code == 1
    summary = lines[-1]
    assert (summary["done"], summary["failed"]) == (1, 1)
    assert summary["failures"][0]["sku"] == "BUSY"
    assert "throttled" in summary["failures"][0]["reason"]
    assert "after 3 tries" in summary["failures"][0]["reason"]
    assert any(line["event"] == "retry" for line in lines)
    import zipfile

    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["OK-1/OK-1_s1.png", "manifest.csv",
                                              "manifest.json"]
        row = json.loads(archive.read("manifest.json"))["images"][0]
    assert (row["backend"], row["model"]) == ("sagemaker", "tiny-sd")
    assert row["cost_usd"] > 0 and row["latency_s"] > 0

    # The budget: nothing starts when even one image would pass it.
    assert main(["batch", "--resume", "1", "--budget", "0", "--json"]) == 5
    assert "budget" in capsys.readouterr().out


def test_plan_errors_and_listing(tmp_path: Path, capsys) -> None:
    path = catalog(tmp_path, 2)
    assert main(["batch", str(path), "--template", "a {colour}", "--backend", "bedrock",
                 "--dry-run"]) == 2
    assert "known columns: sku, title, color" in capsys.readouterr().err
    assert main(["batch", str(path), "--template", "a {color} {title}", "--axis",
                 "bg=white|grey", "--seeds", "3", "--backend", "bedrock", "--preset",
                 "amazon-main", "--dry-run", "--json"]) == 0
    captured = capsys.readouterr()
    plan = json.loads(captured.out)
    assert plan["images"] == 12 and plan["estimate_usd"] == pytest.approx(12 * 0.08)
    assert plan["files"][0] == "P-00/P-00_white_s1.jpg"
    assert "12 images · estimated $0.96" in captured.err
    assert main(["batch", str(path), "--template", "x", "--preset", "nope"]) == 2
    assert "choose one of amazon-main" in capsys.readouterr().err
    assert main(["batch", "--resume", "42"]) == 2
    assert main(["batch", "--list"]) == 0
    assert "No batch jobs yet" in capsys.readouterr().err
    assert main(["batch", "--presets"]) == 0
    assert "shopify" in capsys.readouterr().out
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "x").write_text("x")
    assert main(["batch", str(path), "--template", "x", "--backend", "bedrock",
                 "--out", str(taken)]) == 2
    assert "not an empty folder" in capsys.readouterr().err




def test_a_scene_that_contradicts_the_preset_is_flagged_before_the_run(tmp_path: Path,
                                                                       capsys) -> None:
    path = catalog(tmp_path, 2)
    assert main(["batch", str(path), "--template", "a {color} {title} on a marble counter",
                 "--backend", "bedrock", "--preset", "amazon-main", "--dry-run", "--json"]) == 0
    captured = capsys.readouterr()
    (warning,) = json.loads(captured.out)["warnings"]
    assert "amazon-main needs a pure white background" in warning
    assert "amazon-lifestyle" in warning
    assert captured.err.count("studio: warning:") == 1  # said once, not once per product
    assert main(["batch", str(path), "--template", "a {color} {title} on a marble counter",
                 "--backend", "bedrock", "--preset", "shopify", "--dry-run", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == []


def test_a_job_running_elsewhere_is_not_resumed_and_list_id_itemises_failures(
        tmp_path: Path, capsys) -> None:
    from studio.batch.store import NewItem

    store = BatchStore()
    job_id = store.create_job(str(tmp_path / "c.csv"), str(tmp_path / "out"), {}, [
        NewItem("A-1", "s1", "a mug", "", 1, "A-1/A-1_s1.png"),
        NewItem("A-2", "s1", "a cup", "", 2, "A-2/A-2_s1.png")])
    store.mark_failed(job_id, [1], "The model on endpoint test failed: CUDA out of memory.")
    store.claim(job_id, "the-window")
    assert main(["batch", "--resume", str(job_id)]) == 2
    assert f"Batch job {job_id} is running in another Studio window or process" in \
        capsys.readouterr().err
    assert store.job(job_id).counts["failed"] == 1  # nothing was reset behind its back

    assert main(["batch", "--list", str(job_id), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["state"] == "running" and shown["failed"] == 1
    assert shown["failures"] == [{"sku": "A-2", "variant": "s1", "seed": 2,
                                  "file": "A-2/A-2_s1.png", "reason": "The model on endpoint "
                                  "test failed: CUDA out of memory.", "attempts": 0,
                                  "billed_attempts": 0, "lost_usd": 0.0}]
    assert main(["batch", "--list", str(job_id)]) == 0
    assert "failed A-2 s1 (seed 2, 0 tries, 0 billed): The model on endpoint test failed" in \
        capsys.readouterr().out
    store.release(job_id, "the-window")
    assert main(["batch", "--list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "interrupted"


def test_help_says_what_retry_ambiguous_defaults_to_and_why(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["batch", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--retry-ambiguous" in text and "Default: off" in text
    assert "may pay for the same image twice" in text


def test_the_woocommerce_sample_plans_readable_prompts_and_reports_its_skips(
        studio_home: Path, capsys) -> None:
    sample = ROOT / "tests" / "batch" / "data" / "woocommerce_sample_products.csv"
    assert main(["batch", str(sample), "--template", "a {color} {title}, product photo",
                 "--backend", "bedrock", "--product-images", "off", "--dry-run",
                 "--json"]) == 0
    captured = capsys.readouterr()
    plan = json.loads(captured.out)
    assert plan["products"] == 20 and plan["images"] == 20
    assert [p.split(":")[0] for p in plan["problems"]] == ["line 14", "line 15", "line 24"]
    assert "skipped line 24: 'Logo Collection' is a grouped product" in captured.err
    assert "Catalog woocommerce_sample_products.csv: woocommerce, 20 products" in captured.err
    assert plan["preview"][:3] == ["woo-hoodie-with-logo · s1: a Blue Hoodie with Logo, product "
                                   "photo", "woo-tshirt · s1: a Gray T-Shirt, product photo",
                                   "woo-beanie · s1: a Red Beanie, product photo"]
    assert main(["batch", str(sample), "--template", "{title}", "--backend", "bedrock",
                 "--include-nonphysical", "--dry-run", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert (plan["products"], plan["problems"]) == (23, [])


def test_a_sheet_with_a_pid_column_is_named_in_the_summary(tmp_path: Path, studio_home: Path,
                                                         capsys) -> None:
    path = tmp_path / "marketplace.csv"
    path.write_text("uniq_id,product_name,pid\nc2d7,Cycling Shorts,SRTEH2FF9KEDEFGF\n"
                    "7f70,Sofa Bed,SBEEH3QGU7MFYJFY\n", encoding="utf-8")
    assert main(["batch", str(path), "--template", "{product_name} by {brand}",
                 "--backend", "bedrock", "--dry-run"]) == 2
    assert "unknown column {brand}" in capsys.readouterr().err
    assert main(["batch", str(path), "--template", "{product_name}, studio photo",
                 "--backend", "bedrock", "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert "sheet, 2 products (utf-8, ','), SKU from column 'pid'" in err
    assert "SRTEH2FF9KEDEFGF · s1: Cycling Shorts, studio photo" in err


@pytest.fixture
def transform_aws(aws_env, endpoint_server, monkeypatch: pytest.MonkeyPatch):
    """A moto server (S3 and SageMaker) with a bucket and a model, and the emulated Batch
    Transform worker (tests/batch/transform_runner.py) that runs jobs on `endpoint_server`."""
    import boto3

    from tests.batch.transform_runner import LocalTransform
    from tests.s3_server import moto_s3_server

    with moto_s3_server() as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="shop-run")
        boto3.client("sagemaker", region_name="us-east-1").create_model(
            ModelName="tiny-sd", ExecutionRoleArn="arn:aws:iam::123456789012:role/studio",
            PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/hf:1"})
        yield LocalTransform(url, endpoint_server.url).install(monkeypatch)


TRANSFORM = ["--backend", "sagemaker", "--region", "us-east-1", "--mode", "transform",
             "--model-name", "tiny-sd", "--instances", "2", "--instance-type", "ml.g4dn.xlarge",
             "--width", "64", "--height", "64", "--steps", "1", "--seed", "3",
             "--transform-poll-seconds", "0.05"]


@pytest.mark.slow
def test_mode_transform_makes_the_catalog_in_one_job_with_its_manifest(
        tmp_path: Path, studio_home: Path, transform_aws, capsys) -> None:
    out = tmp_path / "export"
    code = main(["batch", str(catalog(tmp_path, 3)), "--template", "a {color} {title}",
                 "--axis", "background=white|marble", *TRANSFORM,
                 "--s3-uri", "s3://shop-run/run", "--out", str(out), "--json"])
    assert code == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["event"] for e in events].count("image") == 6
    assert any(e["event"] == "transform" and "Created Batch Transform job" in e["message"]
               for e in events)
    assert events[-1]["state"] == "finished" and events[-1]["spent_usd"] > 0
    assert len(transform_aws.create_calls) == 1
    manifest = json.loads((out / "manifest.json").read_text())
    assert {(r["sku"], r["variant"]) for r in manifest["images"]} == \
        {(f"P-{i:02d}", v) for i in range(3) for v in ("white_s1", "marble_s1")}
    assert manifest["job"]["transform_jobs"][0]["status"] == "Completed"
    assert library_count(studio_home) == 6


@pytest.mark.slow
def test_mode_transform_refuses_a_missing_bucket_or_model_before_storing_a_job(
        tmp_path: Path, studio_home: Path, transform_aws, capsys) -> None:
    args = ["batch", str(catalog(tmp_path, 2)), "--template", "a {title}", *TRANSFORM]
    assert main([*args, "--s3-uri", "s3://no-such-bucket/run"]) == 2
    assert "bucket no-such-bucket does not exist" in capsys.readouterr().err
    wrong_model = [a if a != "tiny-sd" else "gone" for a in args]
    assert main([*wrong_model, "--s3-uri", "s3://shop-run/run"]) == 2
    assert "no SageMaker model gone" in capsys.readouterr().err
    assert main([*args]) == 2
    assert "--s3-uri" in capsys.readouterr().err
    assert BatchStore().jobs() == [] and transform_aws.create_calls == []


def test_transform_flags_need_mode_transform(tmp_path: Path, studio_home: Path,
                                             capsys) -> None:
    assert main(["batch", str(catalog(tmp_path, 1)), "--template", "a {title}",
                 "--model-name", "m", "--dry-run"]) == 2
    assert "--model-name is for --mode transform" in capsys.readouterr().err


def test_export_options_are_in_the_help_and_a_resume_refuses_to_change_them(
        tmp_path: Path, studio_home: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["batch", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for flag in ("--c2pa-cert PEM", "--c2pa-key PEM", "--no-c2pa", "--harmonise STRENGTH",
                 "--upscaler auto|lanczos|NAME"):
        assert flag in help_text
    assert "costs a second generation" in help_text
    for extra in (["--harmonise", "0.3"], ["--upscaler", "lanczos"], ["--no-c2pa"]):
        assert main(["batch", "--resume", "1", *extra]) == 2
        assert "a resumed job keeps the signing, harmonising and upscaler" in \
            capsys.readouterr().err
