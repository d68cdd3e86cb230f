"""`studio endpoint compile`: the plan and its checks, the sourcedir, the training job against
moto (control plane and S3), the wait loop with botocore's Stubber where moto cannot say what
is needed (a job in progress, a failed job and its FailureReason), and the entry script with an
injected exporter. The real compile (optimum-neuron on a trn1) has not run here."""

from __future__ import annotations

import datetime
import importlib.util
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType

import boto3
import botocore.session
import pytest
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from backends.endpoint import compile as neuron
from backends.endpoint import inference, neuron_compile_script
from backends.endpoint.images import (
    NEURON_SDK,
    NEURON_TRAINING_IMAGE,
    neuron_training_image_uri,
)
from backends.endpoint.packaging import COMPILED_RECORD, REQUIREMENTS, package_model
from backends.errors import BackendUnavailable, InvalidRequest, TransientError
from backends.families import family_profile
from backends.resources import resources_dir

ROLE = "arn:aws:iam::123456789012:role/StudioCompile"
NOW = datetime.datetime(2026, 12, 2, 21, 30, 5, tzinfo=datetime.UTC)
JOB = "studio-sdxl-turbo-1024x768-20261202-213005"
TRAINING_IMAGE = ("763104351884.dkr.ecr.us-west-2.amazonaws.com/huggingface-pytorch-training-"
                  "neuronx:2.8.0-transformers4.55.4-neuronx-py310-sdk2.26.0-ubuntu22.04")


def plan(model: str = "stabilityai/sdxl-turbo", size: str = "1024x768", **kwargs):
    values = {"region": "us-west-2", "role": ROLE, "now": NOW, "family": "sdxl"}
    values.update(kwargs)
    return neuron.plan_compile(model, size, "s3://studio-out/compiled/", **values)


# --- the plan ------------------------------------------------------------------------------

def test_the_training_job_request_in_full() -> None:
    request = plan(family="sdxl").training_job_request()
    source = f"s3://studio-out/compiled/{JOB}/source/sourcedir.tar.gz"
    assert request == {
        "TrainingJobName": JOB,
        "RoleArn": ROLE,
        "AlgorithmSpecification": {"TrainingImage": TRAINING_IMAGE,
                                   "TrainingInputMode": "File"},
        "HyperParameters": {
            "sagemaker_program": '"neuron_compile_script.py"',
            "sagemaker_submit_directory": json.dumps(source),
            "sagemaker_region": '"us-west-2"',
            "model": '"stabilityai/sdxl-turbo"', "model_name": '"stabilityai/sdxl-turbo"',
            "width": "1024", "height": "768", "batch_size": "1", "dtype": '"bf16"',
            "family": '"sdxl"'},
        "OutputDataConfig": {"S3OutputPath": "s3://studio-out/compiled"},
        "ResourceConfig": {"InstanceType": "ml.trn1.2xlarge", "InstanceCount": 1,
                           "VolumeSizeInGB": 200},
        "StoppingCondition": {"MaxRuntimeInSeconds": 10800},
        "Tags": [{"Key": "studio", "Value": "endpoint-compile"}],
    }
    made = plan()
    assert made.artefact == f"s3://studio-out/compiled/{JOB}/output/model.tar.gz"
    assert made.source_uri == source
    # 32 GiB is under what an SDXL compile needs, by optimum-neuron's docs: said, not refused.
    assert "ml.trn1.32xlarge" in made.warnings[0]
    assert plan(instance_type="ml.trn1.32xlarge").warnings == ()
    assert plan("runwayml/stable-diffusion-v1-5", "512x512", family="sd1").warnings == ()


def test_an_s3_model_comes_in_through_the_model_channel() -> None:
    made = plan("s3://studio-models/sd/tiny-sd/", "512x512", family="sd1")
    request = made.training_job_request()
    assert request["InputDataConfig"] == [{
        "ChannelName": "model", "InputMode": "File",
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                        "S3Uri": "s3://studio-models/sd/tiny-sd/",
                                        "S3DataDistributionType": "FullyReplicated"}}}]
    assert request["HyperParameters"]["model_channel"] == '"model"'
    assert request["HyperParameters"]["model_name"] == '"tiny-sd"'
    assert made.job_name == "studio-tiny-sd-512x512-20261202-213005"
    packaged = plan("s3://studio-models/tiny-sd/model.tar.gz", "512x512", family="sd1")
    assert packaged.model_name == "tiny-sd"
    assert "InputDataConfig" not in plan().training_job_request()


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"size": "1001x1024"}, "multiple of 8: 1001 is not; try 1000 or 1008"),
    ({"size": "1024x4096"}, "Stable Diffusion XL compiles at 64 to 2048 pixels a side"),
    ({"size": "big"}, "--size must be WIDTHxHEIGHT"),
    ({"instance_type": "ml.g5.xlarge"}, "--instance-type must be one of ml.trn1.2xlarge"),
    ({"instance_type": "ml.inf2.8xlarge"}, "training jobs do not run on ml.inf2"),
    ({"instance_type": "ml.trn2.48xlarge"}, "(got 'ml.trn2.48xlarge')"),
    ({"model": "http://example.com/model"}, "--model must be a Hugging Face hub id"),
    ({"model": "s3://A_bucket/x"}, "is not an s3:// URL of a bucket"),
    ({"s3_output": "studio-out/compiled"}, "--s3-output must be an s3:// URL"),
    ({"role": ""}, "--role must be an IAM role ARN"),
    ({"role": "StudioCompile"}, "--role must be an IAM role ARN"),
    ({"region": "af-south-1"}, "training container is not published in af-south-1"),
    ({"family": "flux1"}, "--family must be one of sd1, sd2, sdxl"),
])
def test_bad_input_is_refused_before_anything_is_made(kwargs, expected) -> None:
    values = {"model": "stabilityai/sdxl-turbo", "size": "1024x1024",
              "s3_output": "s3://studio-out/compiled", "region": "us-west-2", "role": ROLE,
              "family": "sdxl"}
    values.update(kwargs)
    with pytest.raises(InvalidRequest) as raised:
        neuron.plan_compile(values.pop("model"), values.pop("size"), values.pop("s3_output"),
                            **values)
    assert expected in str(raised.value)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest) as raised:
        neuron.plan_compile(str(tmp_path), "1001x64", "bucket", region="us-west-2", role="",
                            instance_type="ml.g5.xlarge")
    message = str(raised.value)
    for part in ("is a local path", "aws s3 sync", "multiple of 8", "--s3-output",
                 "--role", "--instance-type"):
        assert part in message


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A Hugging Face cache of our own, holding only the configs written into it."""
    import huggingface_hub.constants

    cache = tmp_path / "hub"
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))

    def add(repo: str, files: dict[str, dict]) -> None:
        folder = cache / f"models--{repo.replace('/', '--')}"
        commit = "0" * 40
        (folder / "refs").mkdir(parents=True)
        (folder / "refs" / "main").write_text(commit)
        for relpath, data in files.items():
            path = folder / "snapshots" / commit / relpath
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(data))

    return add


def test_the_family_comes_from_cached_configs_and_only_sd_families_compile(hub_cache) -> None:
    hub_cache("studio/tiny-xl", {"model_index.json": {"_class_name": "StableDiffusionXLPipeline"}})
    hub_cache("studio/tiny-flux", {"model_index.json": {"_class_name": "FluxPipeline"},
                                   "transformer/config.json": {"guidance_embeds": False}})
    made = neuron.plan_compile("studio/tiny-xl", "1024x1024", "s3://bkt/c", region="us-west-2",
                               role=ROLE, now=NOW)
    assert (made.family, made.hyperparameters()["family"]) == ("sdxl", '"sdxl"')
    with pytest.raises(InvalidRequest, match="is FLUX.1 \\[schnell\\]; Studio compiles and "
                                             "serves Stable Diffusion"):
        neuron.plan_compile("studio/tiny-flux", "1024x1024", "s3://bkt/c", region="us-west-2",
                            role=ROLE)
    # Not in the cache: no network; the job detects it.
    unknown = neuron.plan_compile("studio/not-cached", "1024x1024", "s3://bkt/c",
                                  region="us-west-2", role=ROLE)
    assert unknown.family == "" and "family" not in unknown.hyperparameters()
    assert "if this is one" in unknown.warnings[0]


@given(model=st.text(min_size=1, max_size=200), width=st.integers(1, 99999),
       height=st.integers(1, 99999),
       when=st.datetimes(min_value=datetime.datetime(2000, 1, 1),
                         max_value=datetime.datetime(2999, 1, 1)))
def test_job_names_always_follow_sagemakers_rules(model, width, height, when) -> None:
    when = when.replace(tzinfo=datetime.UTC)
    name = neuron.job_name(model, width, height, when)
    assert len(name) <= 63 and neuron.JOB_NAME_RULE.fullmatch(name)
    assert name.endswith(f"-{width}x{height}-{when:%Y%m%d-%H%M%S}")
    assert name == neuron.job_name(model, width, height, when)


def test_the_training_image_matches_the_inference_sdk_and_botocores_instance_types() -> None:
    assert f"sdk{NEURON_SDK}" in NEURON_TRAINING_IMAGE
    assert neuron_training_image_uri("us-west-2") == TRAINING_IMAGE
    model = botocore.session.get_session().get_service_model("sagemaker")
    allowed = set(model.shape_for("TrainingInstanceType").enum)
    assert set(neuron.COMPILE_INSTANCES) <= allowed
    assert not any(kind.startswith("ml.inf2") for kind in allowed)  # why trn1 compiles


def test_the_sourcedir_holds_the_script_its_requirements_and_the_handler() -> None:
    with tarfile.open(fileobj=io.BytesIO(neuron.source_archive())) as archive:
        files = {m.name: archive.extractfile(m).read() for m in archive.getmembers()}
    assert set(files) == {"neuron_compile_script.py", "requirements.txt", "code/inference.py",
                          "code/families.json", "code/requirements.txt"}
    assert files["neuron_compile_script.py"] == Path(neuron_compile_script.__file__).read_bytes()
    assert files["code/inference.py"] == Path(inference.__file__).read_bytes()
    assert files["code/families.json"] == (resources_dir() / "models/families.json").read_bytes()
    assert files["code/requirements.txt"].decode() == REQUIREMENTS["inferentia2"]
    assert "diffusers==0.35.*" in files["requirements.txt"].decode().splitlines()


# --- the job, against moto -----------------------------------------------------------------

@pytest.fixture
def aws(aws_env):
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-west-2")
        for bucket in ("studio-out", "studio-models"):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={
                "LocationConstraint": "us-west-2"})
        yield boto3.client("sagemaker", region_name="us-west-2"), s3


def test_start_uploads_the_sourcedir_and_creates_the_job(aws) -> None:
    sagemaker, s3 = aws
    s3.put_object(Bucket="studio-models", Key="sd/tiny-sd/model_index.json", Body=b"{}")
    made = plan("s3://studio-models/sd/tiny-sd", "512x512", family="sd1")
    neuron.start_compile(sagemaker, s3, made)

    uploaded = s3.get_object(Bucket="studio-out",
                             Key=f"compiled/{made.job_name}/source/sourcedir.tar.gz")
    assert uploaded["Body"].read() == neuron.source_archive()
    job = sagemaker.describe_training_job(TrainingJobName=made.job_name)
    request = made.training_job_request()
    assert job["HyperParameters"] == request["HyperParameters"]
    assert job["AlgorithmSpecification"]["TrainingImage"] == TRAINING_IMAGE
    assert job["RoleArn"] == ROLE and job["ResourceConfig"] == request["ResourceConfig"]
    assert job["InputDataConfig"] == request["InputDataConfig"]
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 10800}

    # moto finishes a job at once: the wait returns on its first look.
    seen = []
    status = neuron.wait_for_compile(sagemaker, made.job_name, poll_s=0,
                                     on_status=lambda s, _: seen.append(s.status))
    assert seen == ["Completed"] and status.artefact == made.artefact


def test_a_missing_model_or_bucket_is_said_and_creates_no_job(aws) -> None:
    sagemaker, s3 = aws
    with pytest.raises(InvalidRequest, match="There is nothing at s3://studio-models/none"):
        neuron.start_compile(sagemaker, s3, plan("s3://studio-models/none", "512x512",
                                                 family="sd1"))
    missing = neuron.plan_compile("stabilityai/sdxl-turbo", "1024x1024", "s3://no-such-bucket/x",
                                  region="us-west-2", role=ROLE, family="sdxl")
    with pytest.raises(InvalidRequest, match="the bucket does not exist"):
        neuron.start_compile(sagemaker, s3, missing)
    assert sagemaker.list_training_jobs()["TrainingJobSummaries"] == []


# --- waiting, with the statuses moto does not produce ---------------------------------------

def described(status: str, secondary: str, message: str = "", **extra) -> dict:
    job = {"TrainingJobName": JOB, "TrainingJobArn": f"arn:aws:sagemaker:us-west-2:1:training-"
           f"job/{JOB}", "TrainingJobStatus": status, "SecondaryStatus": secondary,
           "AlgorithmSpecification": {"TrainingImage": TRAINING_IMAGE,
                                      "TrainingInputMode": "File"},
           "ResourceConfig": {"InstanceType": "ml.trn1.2xlarge", "InstanceCount": 1,
                              "VolumeSizeInGB": 200},
           "StoppingCondition": {"MaxRuntimeInSeconds": 10800},
           "CreationTime": datetime.datetime(2026, 12, 2, 21, 30),
           "ModelArtifacts": {"S3ModelArtifacts": ""},
           "SecondaryStatusTransitions": [{"Status": secondary, "StatusMessage": message,
                                           "StartTime": datetime.datetime(2026, 12, 2)}]}
    job.update(extra)
    return job


def stubbed(aws_env, *jobs: dict) -> tuple:
    client = boto3.client("sagemaker", region_name="us-west-2")
    stubber = Stubber(client)
    for job in jobs:
        stubber.add_response("describe_training_job", job, {"TrainingJobName": JOB})
    stubber.activate()
    return client, stubber


def test_the_wait_reports_every_status_until_completed(aws_env) -> None:
    artefact = f"s3://studio-out/compiled/{JOB}/output/model.tar.gz"
    client, stubber = stubbed(
        aws_env,
        described("InProgress", "Starting", "Preparing the instances for training"),
        described("InProgress", "Downloading", "Downloading the training image"),
        described("InProgress", "Training", "Training image download completed."),
        described("Completed", "Completed", "Training job completed",
                  BillableTimeInSeconds=1834, ModelArtifacts={"S3ModelArtifacts": artefact}))
    seen, slept = [], []
    status = neuron.wait_for_compile(client, JOB, poll_s=30, sleep=slept.append,
                                     on_status=lambda s, _: seen.append(
                                         (s.status, s.secondary, s.message)))
    stubber.assert_no_pending_responses()
    assert [s[1] for s in seen] == ["Starting", "Downloading", "Training", "Completed"]
    assert seen[1][2] == "Downloading the training image" and slept == [30, 30, 30]
    assert (status.billable_s, status.artefact, status.instance_type) == (
        1834, artefact, "ml.trn1.2xlarge")


@pytest.mark.parametrize(("job", "error", "expected"), [
    (described("Failed", "Failed", FailureReason="AlgorithmError: Studio refused: the height "
               "is 1000, exit code: 2"), InvalidRequest, "refused the model: the height is 1000"),
    (described("Failed", "Failed", FailureReason="AlgorithmError: the export failed: "
               "MemoryError: , exit code: 1"), BackendUnavailable,
     "failed: AlgorithmError: the export failed: MemoryError"),
    (described("Failed", "Failed", FailureReason="ResourceLimitExceeded: ml.trn1.2xlarge for "
               "training job usage"), BackendUnavailable, "Service Quotas"),
    (described("Stopped", "MaxRuntimeExceeded"), BackendUnavailable, "was stopped"),
])
def test_a_failed_job_says_why_and_where_its_logs_are(aws_env, job, error, expected) -> None:
    client, _ = stubbed(aws_env, job)
    with pytest.raises(error) as raised:
        neuron.wait_for_compile(client, JOB, region="us-west-2", poll_s=0)
    assert expected in str(raised.value)
    assert f"/aws/sagemaker/TrainingJobs, stream {JOB}/algo-1-" in str(raised.value)


def test_a_job_past_the_wait_is_left_running_and_said_so(aws_env) -> None:
    client, _ = stubbed(aws_env, described("InProgress", "Training"))
    with pytest.raises(TransientError, match=f"not stopped.*--follow {JOB}"):
        neuron.wait_for_compile(client, JOB, poll_s=0, timeout_s=0)


# --- the entry script, run as in the container ----------------------------------------------

@pytest.fixture
def job_code(tmp_path: Path) -> ModuleType:
    """The entry script imported from an unpacked sourcedir.tar.gz: the container's layout."""
    folder = tmp_path / "opt-ml-code"
    with tarfile.open(fileobj=io.BytesIO(neuron.source_archive())) as archive:
        archive.extractall(folder, filter="data")
    spec = importlib.util.spec_from_file_location("job_script",
                                                  folder / "neuron_compile_script.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def source_model(folder: Path, class_name: str = "StableDiffusionXLPipeline") -> Path:
    folder.mkdir(parents=True)
    (folder / "model_index.json").write_text(json.dumps({"_class_name": class_name}))
    return folder


class FakeExporter:
    """Stands in for optimum-neuron: records the call, saves a folder shaped like its output."""

    def __init__(self, neuron_files: bool = True, error: Exception | None = None) -> None:
        self.calls: list[tuple] = []
        self.neuron_files, self.error = neuron_files, error

    def __call__(self, pipeline_class: str, source: str, kwargs: dict):
        self.calls.append((pipeline_class, source, kwargs))
        if self.error is not None:
            raise self.error
        return self

    def save_pretrained(self, folder: str) -> None:
        out = Path(folder)
        (out / "unet").mkdir(parents=True, exist_ok=True)
        (out / "model_index.json").write_text(json.dumps(
            {"_class_name": "NeuronStableDiffusionXLPipeline"}))
        if self.neuron_files:
            (out / "unet" / "model.neuron").write_bytes(b"neff")


def args_for(model: str, out: Path, *extra: str) -> list[str]:
    # As the training toolkit passes them: sorted `--key value` pairs.
    return ["--batch_size", "1", "--dtype", "bf16", "--height", "768", "--model", model,
            "--output_dir", str(out), "--width", "1024", *extra]


def test_parse_args_reads_what_sagemaker_passes_and_ignores_the_rest(job_code) -> None:
    args = job_code.parse_args(["--batch_size", "1", "--dtype", "bf16", "--height", "768",
                                "--model", "a/b", "--model_channel", "model", "--width", "1024",
                                "--sagemaker_extra", "x"])
    assert (args.model, args.model_channel, args.width, args.height, args.batch_size,
            args.dtype, args.family) == ("a/b", "model", 1024, 768, 1, "bf16", "")
    with pytest.raises(SystemExit):
        job_code.parse_args(["--model", "a/b", "--width", "0", "--height", "8"])


def test_the_export_call_is_optimum_neurons_documented_one(job_code) -> None:
    args = job_code.parse_args(args_for("a/b", Path("/tmp/out")))
    assert job_code.export_call(args, "sdxl", "a/b") == (
        "NeuronStableDiffusionXLPipeline", "a/b",
        {"export": True, "batch_size": 1, "height": 768, "width": 1024,
         "num_images_per_prompt": 1, "instance_type": "inf2", "auto_cast": "matmul",
         "auto_cast_type": "bf16"})
    fp32 = job_code.parse_args(args_for("a/b", Path("/tmp/out"), "--dtype", "fp32"))
    name, _, kwargs = job_code.export_call(fp32, "sd2", "a/b")
    assert name == "NeuronStableDiffusionPipeline" and kwargs["auto_cast"] is None


def test_the_script_leaves_a_folder_deploy_and_package_take(job_code, tmp_path) -> None:
    model = source_model(tmp_path / "hub-model")
    out = tmp_path / "opt-ml-model"
    exporter = FakeExporter()
    assert job_code.main(args_for(str(model), out, "--model_name", "studio/sdxl-x"),
                         exporter=exporter, failure_file=str(tmp_path / "failure")) == 0
    assert exporter.calls[0][:2] == ("NeuronStableDiffusionXLPipeline", str(model))
    assert (out / "code" / "inference.py").read_bytes() == Path(inference.__file__).read_bytes()
    assert (out / "code" / "families.json").is_file()
    assert (out / "code" / "requirements.txt").read_text() == REQUIREMENTS["inferentia2"]
    record = json.loads((out / "studio_model.json").read_text())
    assert record == {"model": "studio/sdxl-x", "target": "inferentia2",
                      "packaged_by": "studio endpoint compile", "family": "sdxl", "variant": "",
                      "licence": record["licence"], "commercial_use": True, "saved_with": {}}
    assert record["licence"] == family_profile("sdxl").licence
    compiled = json.loads((out / COMPILED_RECORD).read_text())
    assert {k: compiled[k] for k in ("model", "width", "height", "batch_size", "dtype",
                                     "family", "compilation_target")} == {
        "model": "studio/sdxl-x", "width": 1024, "height": 768, "batch_size": 1,
        "dtype": "bf16", "family": "sdxl", "compilation_target": "inf2"}
    assert "optimum_neuron" in compiled and not (tmp_path / "failure").exists()

    # Packaged again (a newer handler): the family comes from the compile's record, since the
    # compiled model_index.json names optimum's Neuron classes.
    report = package_model(out, tmp_path / "model.tar.gz", "inferentia2")
    assert (report.family, report.model) == ("sdxl", "studio/sdxl-x")


def test_an_s3_model_archive_in_the_channel_is_unpacked(job_code, tmp_path, monkeypatch) -> None:
    model = source_model(tmp_path / "packaged", "StableDiffusionPipeline")
    channel = tmp_path / "channel"
    channel.mkdir()
    with tarfile.open(channel / "model.tar.gz", "w:gz") as archive:
        archive.add(model / "model_index.json", arcname="model_index.json")
    monkeypatch.setenv("SM_CHANNEL_MODEL", str(channel))
    monkeypatch.setenv("STUDIO_UNPACK_DIR", str(tmp_path / "unpacked"))
    exporter = FakeExporter()
    assert job_code.main(args_for("s3://b/x/tiny-sd/model.tar.gz", tmp_path / "out",
                                  "--model_channel", "model"), exporter=exporter) == 0
    assert exporter.calls[0][:2] == ("NeuronStableDiffusionPipeline",
                                     str(tmp_path / "unpacked"))
    assert json.loads((tmp_path / "out" / "studio_model.json").read_text())["model"] == "tiny-sd"


@pytest.mark.parametrize(("class_name", "exporter", "extra", "code", "expected"), [
    ("FluxPipeline", FakeExporter(), (), 2, "Studio refused: a/b is a flux1 model"),
    ("StableDiffusionXLPipeline", FakeExporter(), ("--width", "1001"), 2,
     "Studio refused: Stable Diffusion XL compiles at sides that are multiples of 8"),
    ("StableDiffusionXLPipeline", FakeExporter(neuron_files=False), (), 2,
     "saved no .neuron files"),
    ("StableDiffusionXLPipeline", FakeExporter(error=RuntimeError("neuronx-cc exited 70")), (),
     1, "the export failed: RuntimeError: neuronx-cc exited 70"),
])
def test_the_script_fails_with_a_reason_sagemaker_shows(job_code, tmp_path, class_name,
                                                         exporter, extra, code, expected,
                                                         capsys) -> None:
    model = source_model(tmp_path / "m", class_name)
    failure = tmp_path / "output" / "failure"
    argv = [*args_for(str(model), tmp_path / "out", "--model_name", "a/b"), *extra]
    assert job_code.main(argv, exporter=exporter, failure_file=str(failure)) == code
    assert expected in failure.read_text()
    assert expected in capsys.readouterr().err


def test_the_record_names_agree_with_packaging() -> None:
    assert neuron_compile_script.COMPILED_RECORD == COMPILED_RECORD
    assert set(neuron_compile_script.PIPELINE_CLASSES) == set(neuron.COMPILABLE)


def test_the_script_runs_with_the_plans_hyperparameters_as_the_toolkit_passes_them(
        tmp_path) -> None:
    """The job's own command line: the sourcedir unpacked, our hyperparameters decoded and
    passed as sorted `--key value` pairs (sagemaker_* kept by the toolkit), a fresh Python.
    Without optimum-neuron here, the export itself fails, and says so where SageMaker looks."""
    made = plan(family="sdxl")
    code = tmp_path / "code"
    with tarfile.open(fileobj=io.BytesIO(neuron.source_archive())) as archive:
        archive.extractall(code, filter="data")
    decoded = {key: json.loads(value) for key, value in made.hyperparameters().items()}
    assert decoded["sagemaker_program"] == "neuron_compile_script.py"
    argv = [part for key in sorted(decoded) if not key.startswith("sagemaker_")
            for part in (f"--{key}", str(decoded[key]))]
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "SM_MODEL_DIR": str(tmp_path / "model"),
           "SM_OUTPUT_DIR": str(tmp_path / "output")}
    run = subprocess.run([sys.executable, decoded["sagemaker_program"], *argv], cwd=code,
                         env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1, run.stderr
    assert ("NeuronStableDiffusionXLPipeline.from_pretrained('stabilityai/sdxl-turbo', "
            "export=True, batch_size=1, height=768, width=1024") in run.stdout
    failure = (tmp_path / "output" / "failure").read_text()
    assert failure.startswith("the export failed: ModuleNotFoundError: No module named 'optimum")
    assert "ignoring" not in run.stderr  # every hyperparameter is one the script knows
