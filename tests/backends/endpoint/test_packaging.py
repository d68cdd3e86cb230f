"""model.tar.gz: its layout, its checks, and the packed handler running on its own."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import tarfile
from importlib.metadata import version
from pathlib import Path

import pytest
from PIL import Image

from backends.endpoint import inference
from backends.endpoint.packaging import package_model
from backends.errors import InvalidRequest
from backends.families import FAMILIES_FILE
from backends.resources import resources_dir


def names(archive: Path) -> set[str]:
    with tarfile.open(archive) as tar:
        return set(tar.getnames())


def test_gpu_archive_layout(tiny_sd_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "dist" / "model.tar.gz"
    report = package_model(tiny_sd_path, out, "gpu")
    assert report.path == out and out.is_file() and report.model == "tiny-sd"
    members = names(out)
    assert {"code/inference.py", "code/requirements.txt", "code/families.json",
            "studio_model.json",
            "model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors",
            "vae/config.json", "text_encoder/config.json", "tokenizer/tokenizer_config.json",
            "scheduler/scheduler_config.json"} <= members
    assert not any(name.startswith("/") or ".." in name for name in members)
    with tarfile.open(out) as tar:
        handler = tar.extractfile("code/inference.py").read()
        requirements = tar.extractfile("code/requirements.txt").read().decode()
        manifest = json.loads(tar.extractfile("studio_model.json").read())
        families = json.loads(tar.extractfile("code/families.json").read())
    assert handler == Path(inference.__file__).read_bytes()  # the very file the server runs
    pins = [line for line in requirements.splitlines() if not line.startswith("#")]
    assert pins == ["diffusers>=0.31,<0.40", "transformers>=4.51,<5", "accelerate>=0.33",
                    "safetensors>=0.4"]
    saved_with = {"diffusers": version("diffusers"), "transformers": version("transformers")}
    assert (f"saved with diffusers {saved_with['diffusers']} and transformers "
            f"{saved_with['transformers']}") in requirements
    # transformers 4 reads these: a BPE vocabulary beside tokenizer.json, CLIP's prefix.
    assert {"tokenizer/vocab.json", "tokenizer/merges.txt"} <= members
    assert manifest == {"model": "tiny-sd", "target": "gpu", "packaged_by": "studio",
                        "family": "sd1", "variant": "", "licence": "CreativeML OpenRAIL-M",
                        "commercial_use": True, "saved_with": saved_with}
    assert families == json.loads((resources_dir() / FAMILIES_FILE).read_text(encoding="utf-8"))
    assert (report.family, report.family_label) == ("sd1", "Stable Diffusion 1.x")
    assert report.family_known and report.commercial_use is True
    assert report.note.startswith("Stable Diffusion 1.x: 30 steps and guidance 7 unless")
    assert report.files == len(members) and not list(tmp_path.rglob("*.partial"))


def fake_compiled(folder: Path) -> Path:
    for part in ("unet", "vae_decoder", "text_encoder"):
        (folder / part).mkdir(parents=True)
        (folder / part / "model.neuron").write_bytes(b"\0")
        (folder / part / "config.json").write_text("{}")
    (folder / "model_index.json").write_text('{"_class_name": "StableDiffusionXLPipeline"}')
    (folder / ".cache").mkdir()
    (folder / ".cache" / "junk").write_text("x")
    return folder


def test_inferentia2_archive_carries_the_compiled_graphs(tmp_path: Path) -> None:
    out = tmp_path / "model.tar.gz"
    package_model(fake_compiled(tmp_path / "sdxl-neuron"), out, "inferentia2")
    members = names(out)
    assert {"unet/model.neuron", "vae_decoder/model.neuron", "code/inference.py"} <= members
    assert not any(name.startswith(".cache") for name in members)
    with tarfile.open(out) as tar:
        requirements = tar.extractfile("code/requirements.txt").read().decode()
    # Nothing to install: the Neuron container's own versions match its Neuron SDK.
    assert [line for line in requirements.splitlines() if not line.startswith("#")] == []


@pytest.mark.parametrize(("target", "prepare", "message"), [
    ("gpu", lambda p: p.mkdir(), "no model_index.json"),
    ("inferentia2", lambda p: (p.mkdir(), (p / "model_index.json").write_text("{}")),
     "not compiled for Inferentia2"),
    ("gpu", fake_compiled, "compiled for Inferentia2; use --target inferentia2"),
    ("gpu", lambda p: (p.mkdir(), (p / "model_index.json").write_text("{}"),
                       (p / "weights.bin").write_bytes(b"")), "no .safetensors weights"),
    ("tpu", lambda p: p.mkdir(), "--target must be one of"),
])
def test_wrong_folders_are_refused_with_the_fix(tmp_path: Path, target, prepare,
                                                message) -> None:
    folder = tmp_path / "model"
    prepare(folder)
    with pytest.raises(InvalidRequest, match=message):
        package_model(folder, tmp_path / "model.tar.gz", target)
    assert not (tmp_path / "model.tar.gz").exists()


# Run in a fresh interpreter where our packages cannot be imported: the handler must stand
# alone, as it does inside SageMaker.
FRESH_INTERPRETER = r"""
import importlib.abc, importlib.util, json, sys

class NoStudio(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("backends", "studio", "tests"):
            raise ImportError(f"{name} is not available inside SageMaker")

sys.meta_path.insert(0, NoStudio())
model_dir = sys.argv[1]
spec = importlib.util.spec_from_file_location("inference", model_dir + "/code/inference.py")
handler = sys.modules["inference"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(handler)
model = handler.model_fn(model_dir)
body = json.dumps({"inputs": "a teapot", "parameters": {
    "width": 64, "height": 64, "num_inference_steps": 2, "seed": 21,
    "num_images_per_prompt": 2}})
job = handler.input_fn(body.encode(), "application/json")
print(handler.output_fn(handler.predict_fn(job, model), "application/json"))
"""


def test_the_packed_handler_answers_in_a_fresh_interpreter(tiny_sd_path: Path,
                                                           tmp_path: Path) -> None:
    archive = package_model(tiny_sd_path, tmp_path / "model.tar.gz").path
    model_dir = tmp_path / "opt-ml-model" / "model"  # what SageMaker calls /opt/ml/model
    with tarfile.open(archive) as tar:
        tar.extractall(model_dir, filter="data")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": ""}
    run = subprocess.run([sys.executable, "-c", FRESH_INTERPRETER, str(model_dir)],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=180)
    assert run.returncode == 0, run.stderr[-3000:]
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    assert answer["seeds"] == [21, 22]
    assert answer["model"] == "tiny-sd"  # from studio_model.json: the folder is just "model"
    # The family's data comes from code/families.json: Studio's resources are not there.
    assert (answer["family"], answer["licence"]) == ("sd1", "CreativeML OpenRAIL-M")
    assert answer["parameters"] == {"num_inference_steps": 2, "guidance_scale": 7.0,
                                    "scheduler": None, "mode": "txt2img"}
    for encoded in answer["generated_images"]:
        with Image.open(io.BytesIO(base64.b64decode(encoded))) as image:
            assert image.size == (64, 64)


@pytest.mark.parametrize(("family", "recorded", "licence", "commercial", "diffusers"), [
    ("flux1", ("flux1", "schnell"), "Apache-2.0", True, "diffusers>=0.32,<0.40"),
    ("flux2-klein", ("flux2-klein", ""), "Apache-2.0", True, "diffusers>=0.37,<0.40"),
    ("z-image", ("z-image", ""), "Apache-2.0", True, "diffusers>=0.36,<0.40"),
    ("flux1-dev", ("flux1", ""), "FLUX.1 [dev] Non-Commercial License", False,
     "diffusers>=0.32,<0.40"),
])
def test_packaging_records_the_family(family_dir, tmp_path: Path, family, recorded, licence,
                                      commercial, diffusers) -> None:
    report = package_model(family_dir(family), tmp_path / "model.tar.gz")
    with tarfile.open(report.path) as tar:
        manifest = json.loads(tar.extractfile("studio_model.json").read())
        requirements = tar.extractfile("code/requirements.txt").read().decode()
    assert (manifest["family"], manifest["variant"]) == recorded
    assert (manifest["licence"], manifest["commercial_use"]) == (licence, commercial)
    assert report.family == "-".join(part for part in recorded if part)
    assert (report.licence, report.commercial_use) == (licence, commercial)
    assert diffusers in requirements.splitlines()


def test_a_folder_of_no_known_family_is_packaged_with_a_note(tmp_path: Path) -> None:
    folder = tmp_path / "mystery"
    folder.mkdir()
    (folder / "model_index.json").write_text('{"_class_name": "SomeNewPipeline"}')
    (folder / "weights.safetensors").write_bytes(b"")
    report = package_model(folder, tmp_path / "model.tar.gz")
    assert (report.family, report.family_known, report.commercial_use) == ("unknown", False,
                                                                           None)
    assert report.licence == "unknown: check the model card"
    assert "not one Studio knows" in report.note and "30 steps, guidance 7.0" in report.note
    with tarfile.open(report.path) as tar:
        manifest = json.loads(tar.extractfile("studio_model.json").read())
    assert (manifest["family"], manifest["commercial_use"]) == ("unknown", None)


# The SageMaker Hugging Face inference toolkit's own handler service, driven the way its
# model server (MMS) drives it: initialize with a context whose model_dir is the unpacked
# model, then handle one request.
THROUGH_THE_TOOLKIT = r"""
import json, sys
from importlib.metadata import version
from mms.context import Context, RequestProcessor
from mms.metrics.metrics_store import MetricsStore
from sagemaker_huggingface_inference_toolkit.handler_service import HuggingFaceHandlerService

print("VERSIONS", json.dumps({p: version(p) for p in (
    "transformers", "diffusers", "accelerate", "safetensors", "huggingface_hub")}))
context = Context("model", sys.argv[1], {}, 1, None, "1.1.11")
service = HuggingFaceHandlerService()
service.initialize(context)
context.request_processor = [RequestProcessor({"Content-Type": "application/json",
                                               "Accept": "application/json"})]
context.metrics = MetricsStore({0: "request-1"}, "model")
body = json.dumps({"inputs": "a teapot", "parameters": {
    "width": 64, "height": 64, "num_inference_steps": 2, "seed": 21}}).encode()
(answer,) = service.handle([{"body": body}], context)
print("ANSWER", answer)
"""


def through_the_toolkit(model_dir: Path, site: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(site),
           "TRANSFORMERS_VERBOSITY": "info", "SAGEMAKER_PROGRAM": "inference.py"}
    return subprocess.run([sys.executable, "-c", THROUGH_THE_TOOLKIT, str(model_dir)],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def marked(run: subprocess.CompletedProcess, mark: str) -> dict:
    line = next(line for line in run.stdout.splitlines() if line.startswith(mark + " "))
    return json.loads(line[len(mark) + 1:])


@pytest.mark.slow
def test_the_container_toolkit_loads_and_runs_a_packaged_model(tiny_sd_path: Path,
                                                               container_site: Path,
                                                               tmp_path: Path) -> None:
    from packaging.requirements import Requirement

    archive = package_model(tiny_sd_path, tmp_path / "model.tar.gz").path
    model_dir = tmp_path / "opt-ml-model"
    with tarfile.open(archive) as tar:
        tar.extractall(model_dir, filter="data")
    run = through_the_toolkit(model_dir, container_site, tmp_path)
    assert run.returncode == 0, run.stderr[-4000:]
    versions = marked(run, "VERSIONS")
    assert versions["transformers"].startswith("4.")  # the container's, not ours
    # What requirements.txt asks the container to install is what it already has here.
    wanted = (model_dir / "code" / "requirements.txt").read_text().splitlines()
    for line in (line for line in wanted if line and not line.startswith("#")):
        requirement = Requirement(line)
        assert requirement.specifier.contains(versions[requirement.name],
                                              prereleases=True), line
    assert "All model checkpoint weights were used when initializing CLIPTextModel" in run.stderr
    assert "newly initialized" not in run.stderr
    answer = marked(run, "ANSWER")
    assert answer["seeds"] == [21] and answer["family"] == "sd1"
    with Image.open(io.BytesIO(base64.b64decode(answer["generated_images"][0]))) as image:
        assert image.size == (64, 64)


@pytest.mark.slow
def test_without_the_legacy_format_the_container_cannot_load_it(tiny_sd_path: Path,
                                                                container_site: Path,
                                                                tmp_path: Path) -> None:
    """The check above can fail: the folder as transformers 5 saved it does not load there."""
    import shutil

    model_dir = tmp_path / "as-saved"
    shutil.copytree(tiny_sd_path, model_dir)
    shutil.copytree(Path(inference.__file__).parent, model_dir / "code",
                    ignore=lambda folder, names: [n for n in names if n != "inference.py"])
    shutil.copy(resources_dir() / FAMILIES_FILE, model_dir / "code" / inference.FAMILY_TABLE_FILE)
    run = through_the_toolkit(model_dir, container_site, tmp_path)
    assert run.returncode != 0
    assert "vocab_file" in run.stderr or "NoneType" in run.stderr
