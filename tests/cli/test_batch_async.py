"""`studio batch --mode async` as a new user runs it, fully offline: a moto S3 server,
`studio endpoint serve --s3-endpoint-url` on the tiny model, a real kill -9 and a resume."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studio.batch.store import BatchStore
from studio.cli.main import main
from studio.library import Library
from tests.s3_server import moto_s3_server, s3_client

ROOT = Path(__file__).resolve().parents[2]
ACCEPTED = re.compile(r'"POST /endpoints/local/async-invocations HTTP/1\.1" 202 ')


def catalog(tmp_path: Path, products: int) -> Path:
    path = tmp_path / "catalog.csv"
    rows = "".join(f"P-{i:02d},item {i}\n" for i in range(products))
    path.write_text("sku,title\n" + rows, encoding="utf-8")
    return path


def serve(model: Path, env: dict[str, str], s3_url: str, log: Path) -> tuple[subprocess.Popen,
                                                                           str]:
    """`studio endpoint serve` on a free port; (the process, its URL)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "studio.cli.main", "endpoint", "serve", "--model", str(model),
         "--port", "0", "--s3-endpoint-url", s3_url], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=log.open("w"), text=True)
    line = process.stdout.readline()  # type: ignore[union-attr]
    match = re.search(r"on (http://127\.0\.0\.1:\d+)", line)
    if match is None:
        process.kill()
        raise AssertionError(f"serve did not start: {line!r} {log.read_text()}")
    return process, match.group(1)


@pytest.mark.slow
def test_async_batch_killed_mid_flight_then_resumed_submits_each_item_once(
        tmp_path: Path, studio_home: Path, tiny_sd_path: Path, aws_env, capsys) -> None:
    with moto_s3_server() as s3_url:
        s3_client(s3_url).create_bucket(Bucket="bucket")
        env = {**os.environ, "STUDIO_HOME": str(studio_home), "HF_HUB_OFFLINE": "1",
               "OMP_NUM_THREADS": "1", "AWS_ENDPOINT_URL_S3": s3_url}
        log = tmp_path / "serve.log"
        server, url = serve(tiny_sd_path, env, s3_url, log)
        out = tmp_path / "export"
        try:
            batch = [sys.executable, "-m", "studio.cli.main", "batch",
                     str(catalog(tmp_path, 3)), "--template", "a {title}",
                     "--axis", "background=white|marble", "--backend", "sagemaker",
                     "--endpoint", "local", "--endpoint-url", url, "--mode", "async",
                     "--s3-uri", "s3://bucket/run", "--width", "64", "--height", "64",
                     "--steps", "1", "--seed", "5", "--out", str(out), "--json",
                     "--async-poll-seconds", "0.2"]
            process = subprocess.Popen(batch, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True)
            try:
                for line in process.stdout:  # type: ignore[union-attr]
                    if json.loads(line)["event"] == "image":  # one made, the rest in flight
                        os.kill(process.pid, signal.SIGKILL)
                        break
            finally:
                process.kill()
                stderr = process.stderr.read()  # type: ignore[union-attr]
                process.wait(timeout=30)
            assert process.returncode == -signal.SIGKILL, stderr
            store = BatchStore()
            before = store.job(1)
            assert before.total == 6
            assert 1 <= before.counts["done"] < 6 and before.counts["submitted"] >= 1

            resumed = subprocess.run([sys.executable, "-m", "studio.cli.main", "batch",
                                      "--resume", "1", "--json", "--async-poll-seconds", "0.2"],
                                     cwd=ROOT, env=env, capture_output=True, text=True,
                                     timeout=180)
            assert resumed.returncode == 0, resumed.stderr
            summary = json.loads(resumed.stdout.splitlines()[-1])
            assert (summary["state"], summary["done"], summary["failed"]) == ("finished", 6, 0)
        finally:
            server.terminate()
            server.wait(timeout=30)
        # Every planned image was accepted by the endpoint exactly once: none re-submitted.
        assert len(ACCEPTED.findall(log.read_text())) == 6
        images = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
        assert len(images) == 6 and "P-00/P-00_white_s1.png" in images
        manifest = json.loads((out / "manifest.json").read_text())
        rows = manifest["images"]
        assert sorted(row["file"] for row in rows) == images
        assert all(row["output_location"].startswith("s3://bucket/async-output/studio-1-")
                   for row in rows)
        assert manifest["job"]["mode"] == "async"
        items = store.items(1)
        assert all(i.status == "done" and i.attempts == 1 for i in items)
        with Library.open(studio_home / "library") as library:
            assert library.count() == 6


def test_bad_async_flags_are_refused_before_a_job_exists(tmp_path: Path, studio_home: Path,
                                                       aws_env, capsys) -> None:
    path = catalog(tmp_path, 1)
    base = ["batch", str(path), "--template", "a {title}", "--width", "64", "--height", "64"]
    assert main([*base, "--s3-uri", "s3://bucket/run"]) == 2
    assert "--s3-uri is for --mode async" in capsys.readouterr().err
    assert main([*base, "--async-timeout", "60"]) == 2
    assert "--async-timeout is for --mode async" in capsys.readouterr().err
    assert main([*base, "--mode", "async", "--s3-uri", "s3://bucket/run"]) == 2
    assert "add --backend sagemaker" in capsys.readouterr().err
    assert main([*base, "--backend", "sagemaker", "--endpoint", "local", "--endpoint-url",
                 "http://127.0.0.1:9", "--mode", "async"]) == 2
    assert "needs --s3-uri" in capsys.readouterr().err
    assert main([*base, "--backend", "sagemaker", "--endpoint", "local", "--endpoint-url",
                 "http://127.0.0.1:9", "--mode", "async", "--s3-uri", "bucket/run"]) == 2
    assert "s3://BUCKET" in capsys.readouterr().err
    assert main([*base, "--backend", "sagemaker", "--endpoint", "local", "--endpoint-url",
                 "http://127.0.0.1:9", "--mode", "async", "--s3-uri", "s3://bucket/run",
                 "--async-timeout", "0"]) == 2
    assert "--async-timeout is a number of seconds above 0" in capsys.readouterr().err
    assert BatchStore().jobs() == []


def test_a_missing_bucket_is_refused_with_exit_2_and_no_job(tmp_path: Path, studio_home: Path,
                                                           aws_env, monkeypatch,
                                                           capsys) -> None:
    with moto_s3_server() as s3_url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_url)
        code = main(["batch", str(catalog(tmp_path, 1)), "--template", "a {title}",
                     "--backend", "sagemaker", "--endpoint", "local", "--endpoint-url",
                     "http://127.0.0.1:9", "--mode", "async", "--s3-uri", "s3://absent/run"])
    assert code == 2
    assert "The S3 bucket absent does not exist" in capsys.readouterr().err
    assert BatchStore().jobs() == []


@pytest.mark.slow
def test_endpoint_serve_answers_invoke_endpoint_async_from_the_command_line(
        tmp_path: Path, tiny_sd_path: Path, aws_env) -> None:
    import boto3

    with moto_s3_server() as s3_url:
        s3 = s3_client(s3_url)
        s3.create_bucket(Bucket="bucket")
        s3.put_object(Bucket="bucket", Key="in.json", Body=json.dumps(
            {"inputs": "a cup", "parameters": {"width": 64, "height": 64,
                                               "num_inference_steps": 1, "seed": 2}}).encode())
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
        server, url = serve(tiny_sd_path, env, s3_url, tmp_path / "serve.log")
        try:
            runtime = boto3.client("sagemaker-runtime", region_name="us-east-1",
                                   endpoint_url=url)
            answer = runtime.invoke_endpoint_async(EndpointName="local",
                                                   InputLocation="s3://bucket/in.json")
            key = answer["OutputLocation"].removeprefix("s3://bucket/")
            assert key.startswith("async-output/")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                listed = s3.list_objects_v2(Bucket="bucket", Prefix=key).get("Contents", [])
                if listed:
                    break
                time.sleep(0.1)
            output = json.loads(s3.get_object(Bucket="bucket", Key=key)["Body"].read())
            assert output["seeds"] == [2] and len(output["generated_images"]) == 1
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert "Answering InvokeEndpointAsync" in (tmp_path / "serve.log").read_text()
