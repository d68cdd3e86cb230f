"""`studio endpoint compile`: optimum-neuron's export as a SageMaker training job.

Compiling for Inferentia2 needs the Neuron compiler and SDK, so it runs in AWS's Hugging Face
Neuron training container on a trn1 instance (NeuronCore-v2, like inf2; SageMaker training
offers no inf2 instances). The job runs neuron_compile_script.py from a sourcedir.tar.gz this
module uploads next to the job's output, with the endpoint handler beside it, and its
model.tar.gz (`{s3_output}/{job}/output/model.tar.gz`) holds the compiled pipeline *and* the
handler: `studio endpoint deploy --model-data` takes it as it is.

Everything is checked in `plan_compile` before anything is uploaded or created: the job bills
per second from the moment its instance starts.
"""

from __future__ import annotations

import datetime
import gzip
import io
import json
import re
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backends.endpoint import inference, neuron_compile_script
from backends.endpoint.images import NEURON_TRAINING_DIFFUSERS, neuron_training_image_uri
from backends.errors import BackendError, BackendUnavailable, InvalidRequest, TransientError
from backends.families import FAMILIES_FILE, FamilyProfile, family_profile
from backends.resources import resources_dir

# Training instance types that compile for Inferentia2: NeuronCore-v2 (trn1, trn1n). These
# are the trn entries of botocore's TrainingInstanceType list except ml.trn2.48xlarge, whose
# NeuronCore-v3 compiles models that do not run on inf2. Memory in GiB.
COMPILE_INSTANCES = {"ml.trn1.2xlarge": 32, "ml.trn1.32xlarge": 512, "ml.trn1n.32xlarge": 512}
DEFAULT_INSTANCE = "ml.trn1.2xlarge"
# optimum-neuron's docs put an SDXL export at about 35 GB of host memory.
SDXL_COMPILE_GIB = 35
COMPILABLE = tuple(neuron_compile_script.PIPELINE_CLASSES)  # sd1, sd2, sdxl
VOLUME_GB = 200  # the hub download, the traced graphs and the compiled copy, with room
MAX_RUNTIME_S = 3 * 3600
# How long `wait` follows a job past its MaxRuntime before giving up (SageMaker stops it).
WAIT_MARGIN_S = 900
SOURCE_ARCHIVE = "sourcedir.tar.gz"
MODEL_CHANNEL = "model"
TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
REFUSED_MARKER = neuron_compile_script.REFUSED_MARKER

_S3 = re.compile(r"s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(/.*)?")
_ROLE = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}(/[A-Za-z0-9][\w.-]{0,95})?")
_SIZE = re.compile(r"\s*(\d{1,5})\s*[x×X]\s*(\d{1,5})\s*")
JOB_NAME_RULE = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_TERMINAL = ("Completed", "Failed", "Stopped")

StatusCallback = Callable[["CompileStatus", float], None]


@dataclass(frozen=True)
class CompilePlan:
    job_name: str
    model: str  # the hub id or s3:// URL as given
    model_name: str  # what the endpoint will report
    width: int
    height: int
    instance_type: str
    role: str
    region: str
    image: str
    s3_output: str  # s3://bucket/prefix, no trailing slash
    family: str = ""  # "" when not known here: the job detects it
    variants: tuple[str, ...] = ()
    max_runtime_s: int = MAX_RUNTIME_S
    warnings: tuple[str, ...] = field(default=())

    @property
    def from_s3(self) -> bool:
        return self.model.startswith("s3://")

    @property
    def source_uri(self) -> str:
        return f"{self.s3_output}/{self.job_name}/source/{SOURCE_ARCHIVE}"

    @property
    def artefact(self) -> str:
        """Where SageMaker writes the compiled model.tar.gz."""
        return f"{self.s3_output}/{self.job_name}/output/model.tar.gz"

    def hyperparameters(self) -> dict[str, str]:
        """JSON-encoded, as the SageMaker Python SDK writes them: the training toolkit decodes
        each value, passes ours to the script as `--key value` and keeps `sagemaker_*`."""
        values: dict[str, Any] = {
            "sagemaker_program": Path(neuron_compile_script.__file__).name,
            "sagemaker_submit_directory": self.source_uri,
            "sagemaker_region": self.region,
            "model": self.model, "model_name": self.model_name,
            "width": self.width, "height": self.height, "batch_size": 1, "dtype": "bf16",
        }
        if self.from_s3:
            values["model_channel"] = MODEL_CHANNEL
        if self.family:
            values["family"] = self.family
            if self.variants:
                values["variant"] = "-".join(self.variants)
        return {key: json.dumps(value) for key, value in values.items()}

    def training_job_request(self) -> dict[str, Any]:
        request: dict[str, Any] = {
            "TrainingJobName": self.job_name,
            "RoleArn": self.role,
            "AlgorithmSpecification": {"TrainingImage": self.image,
                                       "TrainingInputMode": "File"},
            "HyperParameters": self.hyperparameters(),
            "OutputDataConfig": {"S3OutputPath": self.s3_output},
            "ResourceConfig": {"InstanceType": self.instance_type, "InstanceCount": 1,
                               "VolumeSizeInGB": VOLUME_GB},
            "StoppingCondition": {"MaxRuntimeInSeconds": self.max_runtime_s},
            "Tags": [{"Key": "studio", "Value": "endpoint-compile"}],
        }
        if self.from_s3:
            request["InputDataConfig"] = [{
                "ChannelName": MODEL_CHANNEL, "InputMode": "File",
                "DataSource": {"S3DataSource": {
                    "S3DataType": "S3Prefix", "S3Uri": self.model,
                    "S3DataDistributionType": "FullyReplicated"}},
            }]
        return request


@dataclass(frozen=True)
class CompileStatus:
    name: str
    status: str  # InProgress, Completed, Failed, Stopping, Stopped
    secondary: str = ""  # Starting, Downloading, Training, Uploading, Completed…
    message: str = ""  # the latest secondary status' message
    failure_reason: str = ""
    billable_s: int | None = None
    artefact: str = ""
    instance_type: str = ""

    @property
    def done(self) -> bool:
        return self.status in _TERMINAL


def parse_size(text: str) -> tuple[int, int]:
    """"1024x768" -> (1024, 768)."""
    match = _SIZE.fullmatch(text or "")
    if match is None:
        raise InvalidRequest(f"--size must be WIDTHxHEIGHT in pixels, like 1024x1024 (got "
                             f"{text!r}).")
    return int(match.group(1)), int(match.group(2))


def job_name(model: str, width: int, height: int, now: datetime.datetime) -> str:
    """studio-<model>-<W>x<H>-<UTC time>, in SageMaker's 63 letters, digits and hyphens."""
    base = neuron_compile_script.name_of(model).rstrip("/").rsplit("/", 1)[-1]
    slug = re.sub(r"-+", "-", re.sub(r"[^a-z0-9]", "-", base.lower())).strip("-") or "model"
    stamp = now.astimezone(datetime.UTC).strftime("%Y%m%d-%H%M%S")
    tail = f"-{width}x{height}-{stamp}"
    room = 63 - len("studio-") - len(tail)
    return f"studio-{slug[:room].rstrip('-')}{tail}"


def detect_family(model: str) -> tuple[str, tuple[str, ...]]:
    """A hub model's family from its configs in the local hub cache (never the network); ""
    when they are not there, or for an S3 model: the job detects it then."""
    if model.startswith("s3://"):
        return "", ()
    try:
        from backends.local.hub import identify_hub_model
        from backends.local.sources import ModelSource
    except ImportError:
        return "", ()
    source = identify_hub_model(ModelSource("hub", model, "unknown"), network=False)
    return ("", ()) if source.family == "unknown" else (source.family, source.variants)


def plan_compile(model: str, size: str, s3_output: str, *, region: str, role: str,
                 instance_type: str = DEFAULT_INSTANCE, family: str = "",
                 now: datetime.datetime | None = None,
                 max_runtime_s: int = MAX_RUNTIME_S) -> CompilePlan:
    """Check every argument (all problems at once) before anything is uploaded or created."""
    problems: list[str] = []
    width = height = 0
    try:
        width, height = parse_size(size)
    except InvalidRequest as exc:
        problems.append(str(exc))
    model = (model or "").strip()
    if model.startswith("s3://"):
        if not _S3.fullmatch(model):
            problems.append(f"--model {model!r} is not an s3:// URL of a bucket and folder.")
    elif Path(model).expanduser().exists():
        problems.append(
            f"--model {model!r} is a local path; the compile job cannot read it. Upload the "
            "diffusers folder (aws s3 sync FOLDER s3://BUCKET/PREFIX/) and pass that s3:// "
            "URL, or pass its Hugging Face hub id.")
    elif not _HUB_ID.fullmatch(model):
        problems.append(f"--model must be a Hugging Face hub id like "
                        f"stabilityai/stable-diffusion-xl-base-1.0 or an s3:// URL (got "
                        f"{model!r}).")
    s3_output = (s3_output or "").strip().rstrip("/")
    if not _S3.fullmatch(s3_output):
        problems.append(f"--s3-output must be an s3:// URL like s3://BUCKET/studio/compiled "
                        f"(got {s3_output!r}).")
    if not _ROLE.fullmatch(role or ""):
        problems.append(f"--role must be an IAM role ARN like arn:aws:iam::123456789012:role/"
                        f"NAME (got {role!r}).")
    if instance_type not in COMPILE_INSTANCES:
        hint = (" SageMaker training jobs do not run on ml.inf2; a model compiled on trn1 "
                "runs on inf2 (both NeuronCore-v2)." if instance_type.startswith("ml.inf2")
                else "")
        problems.append(f"--instance-type must be one of {', '.join(COMPILE_INSTANCES)} "
                        f"(got {instance_type!r}).{hint}")
    if max_runtime_s < 600:
        problems.append("The compile job needs at least 10 minutes (--max-hours).")
    image = ""
    try:
        image = neuron_training_image_uri(region)
    except InvalidRequest as exc:
        problems.append(str(exc))
    variants: tuple[str, ...] = ()
    if family:
        if family not in COMPILABLE:
            problems.append(f"--family must be one of {', '.join(COMPILABLE)} (got {family!r}).")
    elif not problems:
        family, variants = detect_family(model)
    profile = family_profile(family, variants) if family else None
    if family and family not in COMPILABLE:
        label = profile.label if profile else family
        problems.append(f"{model} is {label}; Studio compiles and serves Stable Diffusion 1.x, "
                        "2.x and SDXL models on Inferentia2. Deploy it to a GPU instead "
                        "(studio endpoint package --target gpu).")
    elif width and height:
        problems += _size_problems(width, height, profile)
    if problems:
        raise InvalidRequest(" ".join(problems))
    warnings = []
    memory = COMPILE_INSTANCES[instance_type]
    if family in ("", "sdxl") and memory < SDXL_COMPILE_GIB:
        which = "an SDXL" if family else "an SDXL (if this is one)"
        warnings.append(
            f"{instance_type} has {memory} GiB of memory; optimum-neuron's docs put {which} "
            f"compile at about {SDXL_COMPILE_GIB} GB. If the job fails out of memory, run it "
            "again with --instance-type ml.trn1.32xlarge.")
    name = job_name(model, width, height, now or datetime.datetime.now(datetime.UTC))
    if not JOB_NAME_RULE.fullmatch(name):  # job_name's contract; a bug here must not reach AWS
        raise InvalidRequest(f"Could not make a SageMaker job name from {model!r}.")
    return CompilePlan(name, model, neuron_compile_script.name_of(model), width, height,
                       instance_type, role, region, image, s3_output, family, variants,
                       max_runtime_s, tuple(warnings))


def _size_problems(width: int, height: int, profile: FamilyProfile | None) -> list[str]:
    multiple = profile.size_multiple if profile else inference.SIDE_MULTIPLE
    low = profile.min_side if profile else inference.MIN_SIDE
    high = profile.max_side if profile else 2048
    label = profile.label if profile else "A Stable Diffusion model"
    problems = []
    for name, side in (("width", width), ("height", height)):
        if side % multiple:
            lower = side - side % multiple
            problems.append(f"The {name} must be a multiple of {multiple}: {side} is not; try "
                            f"{lower or multiple} or {lower + multiple}.")
        elif not low <= side <= high:
            problems.append(f"{label} compiles at {low} to {high} pixels a side (the {name} "
                            f"is {side}).")
    return problems


def source_archive() -> bytes:
    """sourcedir.tar.gz: the entry script, the requirements the training toolkit installs
    before it runs, and the endpoint handler (code/) the script puts beside the model."""
    from backends.endpoint.packaging import REQUIREMENTS

    members = {
        Path(neuron_compile_script.__file__).name:
            Path(neuron_compile_script.__file__).read_bytes(),
        "requirements.txt": (
            "# Installed by the SageMaker training toolkit before the compile script runs:\n"
            "# the Neuron training container's optimum-neuron ships without diffusers.\n"
            f"{NEURON_TRAINING_DIFFUSERS}\n").encode(),
        "code/inference.py": Path(inference.__file__).read_bytes(),
        f"code/{inference.FAMILY_TABLE_FILE}": (resources_dir() / FAMILIES_FILE).read_bytes(),
        "code/requirements.txt": REQUIREMENTS["inferentia2"].encode(),
    }
    buffer = io.BytesIO()
    # No timestamps (gzip's or the members'): the same code gives the same bytes.
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as packed, \
            tarfile.open(fileobj=packed, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def start_compile(sagemaker: Any, s3: Any, plan: CompilePlan) -> None:
    """Check the model's S3 folder, upload the sourcedir, create the training job."""
    if plan.from_s3:
        bucket, prefix = split_s3(plan.model)
        try:
            listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
        except Exception as exc:
            raise aws_error(exc, f"read the model at {plan.model}", plan.region) from exc
        if not listed.get("KeyCount"):
            raise InvalidRequest(f"There is nothing at {plan.model} in {plan.region}. Upload "
                                 "the diffusers folder there (aws s3 sync FOLDER "
                                 f"{plan.model}/) or check the URL.")
    bucket, key = split_s3(plan.source_uri)
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=source_archive())
    except Exception as exc:
        raise aws_error(exc, f"upload the compile script to {plan.source_uri}",
                        plan.region) from exc
    try:
        sagemaker.create_training_job(**plan.training_job_request())
    except Exception as exc:
        error = aws_error(exc, f"create the training job {plan.job_name}", plan.region)
        if not _answered(exc):
            # No answer: SageMaker may have created (and started billing) the job anyway.
            error = type(error)(f"{error} The job may have been created: check with `studio "
                                f"endpoint compile --follow {plan.job_name}` before compiling "
                                "again.")
        raise error from exc


def describe_compile(client: Any, name: str, *, region: str = "") -> CompileStatus:
    try:
        job = client.describe_training_job(TrainingJobName=name)
    except Exception as exc:
        raise aws_error(exc, f"read the training job {name}", region) from exc
    transitions = job.get("SecondaryStatusTransitions") or [{}]
    return CompileStatus(
        name=name, status=str(job.get("TrainingJobStatus", "")),
        secondary=str(job.get("SecondaryStatus", "")),
        message=str(transitions[-1].get("StatusMessage", "")),
        failure_reason=str(job.get("FailureReason", "")),
        billable_s=job.get("BillableTimeInSeconds"),
        artefact=str((job.get("ModelArtifacts") or {}).get("S3ModelArtifacts", "")),
        instance_type=str((job.get("ResourceConfig") or {}).get("InstanceType", "")))


def wait_for_compile(client: Any, name: str, *, region: str = "", poll_s: float = 30.0,
                     timeout_s: float = MAX_RUNTIME_S + WAIT_MARGIN_S,
                     on_status: StatusCallback | None = None,
                     sleep: Callable[[float], None] = time.sleep) -> CompileStatus:
    """Poll until the job ends; report each poll. Completed: its status (with the artefact);
    Failed or Stopped: an error with SageMaker's reason and where the logs are."""
    started = time.monotonic()
    while True:
        status = describe_compile(client, name, region=region)
        elapsed = time.monotonic() - started
        if on_status is not None:
            on_status(status, elapsed)
        if status.status == "Completed":
            return status
        if status.status in ("Failed", "Stopped"):
            raise failure_error(status, region)
        if elapsed >= timeout_s:
            raise TransientError(
                f"The compile job {name} is still {status.status} ({status.secondary}) after "
                f"{elapsed / 60:.0f} minutes; it was not stopped and bills until it ends. "
                f"Follow it with `studio endpoint compile --follow {name}`.")
        sleep(poll_s)


def failure_error(status: CompileStatus, region: str) -> BackendError:
    where = (f"Its log is in the CloudWatch log group {TRAINING_LOG_GROUP}, stream "
             f"{status.name}/algo-1-…" + (f" ({region})." if region else "."))
    if status.status == "Stopped":
        return BackendUnavailable(f"The compile job {status.name} was stopped before it "
                                  f"finished; nothing was compiled. {where}")
    reason = status.failure_reason or "no reason given"
    if REFUSED_MARKER in reason:
        return InvalidRequest(f"The compile job {status.name} refused the model: "
                              f"{reason.split(REFUSED_MARKER, 1)[1].strip()} {where}")
    hint = ""
    if "ResourceLimitExceeded" in reason or "quota" in reason.lower():
        hint = (f" Ask for a higher 'ml.… for training job usage' quota in Service Quotas "
                f"({status.instance_type or 'the instance type'}).")
    return BackendUnavailable(f"The compile job {status.name} failed: {reason}.{hint} {where}")


def _answered(exc: Exception) -> bool:
    from botocore.exceptions import ClientError

    return isinstance(exc, ClientError | BackendError)


def split_s3(url: str) -> tuple[str, str]:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    return bucket, key


def aws_error(exc: Exception, action: str, region: str) -> BackendError:
    """A botocore error as a BackendError that says what to do."""
    from botocore.exceptions import BotoCoreError, ClientError

    from backends.aws_credentials import credentials_problem

    if isinstance(exc, BackendError):
        return exc
    credentials = credentials_problem(exc, "")
    if credentials is not None:
        return credentials
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = str(error.get("Message", "")) or str(exc)
        if code in ("NoSuchBucket", "404", "NotFound"):
            return InvalidRequest(f"Could not {action}: the bucket does not exist ({message}). "
                                  "Create it, or check the URL and --region.")
        if code in ("AccessDenied", "AccessDeniedException", "403", "Forbidden"):
            return BackendUnavailable(f"Could not {action}: your AWS identity is not allowed "
                                      f"({message}).")
        if code == "ResourceLimitExceeded":
            return InvalidRequest(f"Could not {action}: {message} Ask for a higher '… for "
                                  "training job usage' quota in Service Quotas, or choose "
                                  "another --instance-type.")
        if code in ("ValidationException", "ValidationError", "ResourceInUse"):
            return InvalidRequest(f"SageMaker refused to {action}: {message}")
        if code in ("ThrottlingException", "InternalFailure", "ServiceUnavailable"):
            return TransientError(f"Could not {action}: SageMaker is busy ({code}); try again "
                                  "in a minute.")
        return BackendUnavailable(f"Could not {action} in {region}: {code}: {message}")
    if isinstance(exc, BotoCoreError):
        return BackendUnavailable(f"Could not {action} in {region}: {exc}")
    raise exc
