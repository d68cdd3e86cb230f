"""`studio generate --backend bedrock` as a user runs it: a real process, real boto3, and the
local fake Bedrock server standing in for AWS (nothing leaves loopback)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backends.bedrock import BedrockBackend
from studio.backend_kinds import create_backend
from studio.settings.values import BedrockSettings, Settings
from tests.backends.bedrock.fake_bedrock_server import FakeBedrock

NOVA = "amazon.nova-canvas-v1:0"
SD35 = "stability.sd3-5-large-v1:0"


@pytest.fixture
def fake_bedrock() -> Iterator[FakeBedrock]:
    server = FakeBedrock().start()
    try:
        yield server
    finally:
        server.stop()


def studio(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    aws = home / "aws"
    aws.mkdir(parents=True, exist_ok=True)
    (aws / "config").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(STUDIO_HOME=str(home), HOME=str(aws), AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_CONFIG_FILE=str(aws / "config"),
               AWS_SHARED_CREDENTIALS_FILE=str(aws / "config"), AWS_EC2_METADATA_DISABLED="true",
               AWS_MAX_ATTEMPTS="2")  # the SDK's own setting keeps the throttling case short
    return subprocess.run([sys.executable, "-m", "studio.cli.main", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def bedrock(fake: FakeBedrock, *args: str) -> list[str]:
    # No --bedrock-model: a new user's settings, whose default must be an active model.
    return ["generate", "--backend", "bedrock", "--endpoint-url", fake.url, *args]


def write_photo(folder: Path) -> tuple[Path, Path]:
    photo = Image.new("RGB", (800, 600), (240, 240, 240))
    photo.paste((150, 40, 40), (300, 200, 500, 450))
    mask = Image.new("L", (800, 600), 255)  # white = change: everything but the bag
    mask.paste(0, (300, 200, 500, 450))
    photo.save(folder / "bag.png")
    mask.save(folder / "mask.png")
    return folder / "bag.png", folder / "mask.png"


def test_generate_on_bedrock_uses_an_active_model_and_records_latency_and_cost(
        fake_bedrock: FakeBedrock, studio_home: Path) -> None:
    run = studio(*bedrock(fake_bedrock, "--prompt", "a leather tote on marble", "--seed", "7",
                          "--count", "2", "--json"), home=studio_home)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [line["seed"] for line in lines] == [7, 8]
    for line in lines:
        assert line["backend"] == "bedrock" and line["model"] == SD35
        assert line["device"] == "Amazon Bedrock (us-west-2)"
        assert line["cost_usd"] == pytest.approx(0.08) and not line["cost_estimated"]
        assert line["estimate_usd"] == pytest.approx(0.08)
        assert line["cost_basis"].startswith("2 images × $0.08 (Stable Diffusion 3.5 Large, "
                                             "us-west-2 list price as of")
        assert line["timings"]["network_s"] > 0 and line["latency_s"] > 0
        with Image.open(line["library_path"]) as image:
            assert image.size == (1024, 1024)
            assert "Backend: bedrock" in image.text["parameters"]
    assert [c.region for c in fake_bedrock.calls] == ["us-west-2", "us-west-2"]
    # The lifecycle was read live once and kept, with the date, for the next run.
    assert fake_bedrock.lifecycle_reads == 1
    saved = json.loads((studio_home / "bedrock" / "lifecycle.json").read_text())
    assert saved["read_on"] and any(m["model_id"] == SD35 for m in saved["models"])

    found = studio("history", "--search", "tote", "--json", home=studio_home)
    assert sorted(json.loads(x)["seed"] for x in found.stdout.splitlines()) == [7, 8]


def test_naming_a_retired_model_exits_2_with_its_end_of_life_and_a_replacement(
        fake_bedrock, studio_home) -> None:
    run = studio(*bedrock(fake_bedrock, "--bedrock-model", NOVA, "--prompt", "a tote"),
                 home=studio_home)
    assert run.returncode == 2, run.stderr
    assert "Nova Canvas (amazon.nova-canvas-v1:0) reached its end of life on Amazon " \
           "Bedrock on 2026-09-30" in run.stderr
    assert "Use Stable Diffusion 3.5 Large (stability.sd3-5-large-v1:0) instead" in run.stderr
    assert "Traceback" not in run.stderr and fake_bedrock.calls == []


def test_remove_background_and_inpaint_tasks_return_images_with_per_image_cost(
        fake_bedrock, studio_home, tmp_path) -> None:
    photo, mask = write_photo(tmp_path)
    cut = studio(*bedrock(fake_bedrock, "--task", "remove-background", "--init-image",
                          str(photo), "--json"), home=studio_home)
    assert cut.returncode == 0, cut.stderr
    line = json.loads(cut.stdout)
    assert line["model"] == "us.stability.stable-image-remove-background-v1:0"
    assert line["prompt"] == "remove background"  # what was done, as history shows it
    assert line["cost_usd"] == pytest.approx(0.07) and "remove background" in line["cost_basis"]
    with Image.open(line["library_path"]) as image:
        assert image.mode == "RGBA" and image.getpixel((5, 5))[3] == 0

    inpaint = studio(*bedrock(fake_bedrock, "--task", "inpaint", "--init-image", str(photo),
                              "--mask", str(mask), "--prompt", "on a marble counter",
                              "--grow-mask", "3", "--json"), home=studio_home)
    assert inpaint.returncode == 0, inpaint.stderr
    line = json.loads(inpaint.stdout)
    assert line["model"] == "us.stability.stable-image-inpaint-v1:0"
    assert line["cost_usd"] == pytest.approx(0.07) and line["estimate_usd"] == pytest.approx(0.07)
    assert fake_bedrock.calls[-1].body["grow_mask"] == 3


@pytest.mark.parametrize(("args", "message"), [
    (["--task", "inpaint", "--prompt", "x"], "needs an input image"),
    (["--task", "remove-background", "--prompt", "x", "--init-image", "PHOTO"],
     "takes no prompt"),
    (["--task", "outpaint", "--init-image", "PHOTO"], "at least one margin"),
    (["--task", "outpaint", "--init-image", "PHOTO", "--outpaint", "left=99999"], "0 to 2000"),
    (["--task", "paint-it-black", "--prompt", "x"], "Unknown task 'paint-it-black'"),
    (["--prompt", "x", "--grow-mask", "3"], "only apply with --task"),
    (["--task", "search-replace", "--prompt", "x", "--init-image", "PHOTO"],
     "needs the text to search for"),
])
def test_task_mistakes_exit_2_before_anything_is_sent(fake_bedrock, studio_home, tmp_path,
                                                      args, message) -> None:
    photo, _ = write_photo(tmp_path)
    args = [str(photo) if a == "PHOTO" else a for a in args]
    run = studio(*bedrock(fake_bedrock, *args), home=studio_home)
    assert run.returncode == 2, run.stderr
    assert message in run.stderr and "Traceback" not in run.stderr
    assert fake_bedrock.calls == []


def test_a_product_photo_on_bedrock_keeps_the_products_pixels_exact(
        fake_bedrock, studio_home, tmp_path) -> None:
    photo, _ = write_photo(tmp_path)
    run = studio(*bedrock(fake_bedrock, "--product-image", str(photo), "--prompt",
                          "on a marble counter", "--fill", "native", "--json"),
                 home=studio_home)
    assert run.returncode == 0, run.stderr
    line = json.loads(run.stdout)
    assert line["model"] == "us.stability.stable-image-inpaint-v1:0"
    with Image.open(line["library_path"]) as scene:
        pixels = np.asarray(scene.convert("RGB"))
    # The bag, placed at its own pixel size: a 200×250 block of exactly its colour.
    rows, cols = np.nonzero((pixels == (150, 40, 40)).all(axis=2))
    top, left = rows.min(), cols.min()
    assert (rows.max() - top + 1, cols.max() - left + 1) == (250, 200)
    assert (pixels[top:top + 250, left:left + 200] == (150, 40, 40)).all()


def test_bedrock_models_lists_the_lifecycle_and_tasks_their_prices(fake_bedrock,
                                                                   studio_home) -> None:
    models = studio("bedrock", "models", "--refresh", "--endpoint-url", fake_bedrock.url,
                    home=studio_home)
    assert models.returncode == 0, models.stderr
    assert "Read the lifecycle of 16 image models from Bedrock" in models.stdout
    assert "End of life since 2026-09-30" in models.stdout
    tasks = studio("bedrock", "tasks", home=studio_home)
    assert "remove-background     $0.07" in tasks.stdout


@pytest.mark.parametrize(("setup", "args", "code", "message"), [
    (lambda fake: fake.scenario.denied.add(SD35), [], 3, "go to Model access and request"),
    (lambda fake: setattr(fake.scenario, "throttle", -1), [], 4, "gave up after 2 attempts"),
    (lambda fake: None, ["--prompt", "a forbidden logo"], 2, "content filter"),
    (lambda fake: None, ["--width", "1024", "--height", "256"], 2, "not near one it offers"),
])
def test_errors_exit_with_the_documented_codes_and_no_traceback(
        fake_bedrock, studio_home, setup, args, code, message) -> None:
    setup(fake_bedrock)
    prompt = [] if "--prompt" in args else ["--prompt", "mug"]
    run = studio(*bedrock(fake_bedrock, *prompt, *args), home=studio_home)
    assert run.returncode == code, run.stderr
    assert message in run.stderr and "Traceback" not in run.stderr and run.stdout == ""


def test_cloud_options_need_a_cloud_backend(studio_home) -> None:
    run = studio("generate", "--prompt", "x", "--region", "us-east-1", home=studio_home)
    assert run.returncode == 2 and "--backend bedrock" in run.stderr


def test_settings_build_the_bedrock_backend_with_the_price_book() -> None:
    settings = Settings(backend="bedrock", bedrock=BedrockSettings(
        model="stability.stable-image-ultra-v1:1", region="us-east-1", profile="design",
        endpoint_url="http://127.0.0.1:9"))
    backend = create_backend(settings)
    assert isinstance(backend, BedrockBackend)
    assert backend.model == "stability.stable-image-ultra-v1:1"
    assert (backend.connection.region, backend.connection.profile,
            backend.connection.endpoint_url) == ("us-east-1", "design", "http://127.0.0.1:9")
    assert "stability.stable-image-inpaint-v1:0" in backend.prices.models
    assert Settings().bedrock.model == SD35  # a new user's default is active
