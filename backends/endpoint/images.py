"""Which Hugging Face inference container serves which instance type, in which region.

The tags are AWS's Deep Learning Containers for Hugging Face inference. A model compiled with
`optimum-cli export neuron` must be compiled with the Neuron SDK of the Neuron image
(NEURON_SDK below); `--image-uri` overrides the choice for anything else.
"""

from __future__ import annotations

from backends.errors import InvalidRequest

GPU_IMAGE = "huggingface-pytorch-inference:2.6.0-transformers4.51.3-gpu-py312-cu124-ubuntu22.04"
NEURON_IMAGE = ("huggingface-pytorch-inference-neuronx:"
                "2.8.0-transformers4.55.4-neuronx-py310-sdk2.26.0-ubuntu22.04")
NEURON_SDK = "2.26.0"
# The Hugging Face Neuron *training* container `studio endpoint compile` runs optimum-neuron's
# export in: the same Neuron SDK as NEURON_IMAGE, so what it compiles loads there. Its
# optimum-neuron (0.4.1) has no diffusers; the job's requirements.txt adds the one it supports.
NEURON_TRAINING_IMAGE = ("huggingface-pytorch-training-neuronx:"
                         "2.8.0-transformers4.55.4-neuronx-py310-sdk2.26.0-ubuntu22.04")
NEURON_TRAINING_OPTIMUM = "0.4.1"
NEURON_TRAINING_DIFFUSERS = "diffusers==0.35.*"  # optimum-neuron 0.4.1's `diffusers` extra
# Regions with the Neuron training containers, and their ECR accounts: the "training"
# registries of the SageMaker Python SDK's image_uri_config/huggingface-neuronx.json.
NEURON_TRAINING_ACCOUNTS = {
    "ap-northeast-1": "763104351884", "ap-south-1": "763104351884",
    "ap-south-2": "772153158452", "ap-southeast-1": "763104351884",
    "ap-southeast-2": "763104351884", "ap-southeast-4": "457447274322",
    "ca-west-1": "204538143572", "eu-central-1": "763104351884",
    "eu-central-2": "380420809688", "eu-south-2": "503227376785",
    "eu-west-1": "763104351884", "eu-west-3": "763104351884",
    "il-central-1": "780543022126", "sa-east-1": "763104351884",
    "us-east-1": "763104351884", "us-east-2": "763104351884", "us-west-2": "763104351884",
}

GPU_FAMILIES = ("ml.g5", "ml.g6", "ml.g4dn")
NEURON_FAMILIES = ("ml.inf2",)

# The Deep Learning Containers live in this account in most regions; these are the exceptions.
DEFAULT_ACCOUNT = "763104351884"
ACCOUNTS = {
    "af-south-1": "626614931356",
    "ap-east-1": "871362719292",
    "ap-southeast-3": "907027046896",
    "eu-south-1": "692866216735",
    "me-central-1": "914824155844",
    "me-south-1": "217643126080",
    "cn-north-1": "727897471807",
    "cn-northwest-1": "727897471807",
}


def target_for_instance(instance_type: str) -> str:
    """"gpu" or "inferentia2" for a supported instance type; a clear error otherwise."""
    family = instance_type.rsplit(".", 1)[0] if instance_type.count(".") == 2 else ""
    if family in NEURON_FAMILIES:
        return "inferentia2"
    if family in GPU_FAMILIES:
        return "gpu"
    raise InvalidRequest(
        f"Studio deploys to ml.inf2.* (Inferentia2) and ml.g5.*, ml.g6.*, ml.g4dn.* (GPU) "
        f"instances, not {instance_type!r}. Example: --instance-type ml.inf2.xlarge.")


def image_uri(target: str, region: str) -> str:
    account = ACCOUNTS.get(region, DEFAULT_ACCOUNT)
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    tag = NEURON_IMAGE if target == "inferentia2" else GPU_IMAGE
    return f"{account}.dkr.ecr.{region}.{domain}/{tag}"


def neuron_training_image_uri(region: str) -> str:
    """The Hugging Face Neuron training container in `region`; a clear error where there is
    none."""
    account = NEURON_TRAINING_ACCOUNTS.get(region)
    if account is None:
        raise InvalidRequest(
            f"The Hugging Face Neuron training container is not published in "
            f"{region or 'an unset region'}; compile in one of "
            f"{', '.join(sorted(NEURON_TRAINING_ACCOUNTS))} (--region), then deploy there.")
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{NEURON_TRAINING_IMAGE}"
