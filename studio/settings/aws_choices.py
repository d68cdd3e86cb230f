"""What the AWS settings can offer: this machine's profiles, regions and suggested values.

boto3 lives here rather than in the UI. Everything it is asked reads local files (the AWS
config and botocore's endpoint data); nothing here touches the network or credentials.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from typing import Any

from studio.paths import resources_dir

log = logging.getLogger(__name__)


def aws_profiles() -> list[str] | None:
    """Profile names from the AWS config files, or None when those files cannot be read."""
    try:
        import boto3

        return sorted(boto3.session.Session().available_profiles)
    except Exception:  # a malformed ~/.aws/config must not stop Settings from opening
        log.warning("Could not read the AWS profiles", exc_info=True)
        return None


def aws_regions(service: str) -> list[str]:
    """Regions botocore knows for `service`, else the suggestions file's list for it."""
    try:
        import boto3

        regions = boto3.session.Session().get_available_regions(service)
    except Exception:
        log.warning("Could not list the regions of %s", service, exc_info=True)
        regions = []
    # Newer services resolve endpoints by rules, so botocore may list no regions for them.
    return sorted(regions) or list(suggestions().get(f"{service.split('-')[0]}_regions", []))


@cache
def suggestions() -> dict[str, Any]:
    """The parsed resources/suggestions/aws.json (data, so lists can grow without code)."""
    path = resources_dir() / "suggestions" / "aws.json"
    return json.loads(path.read_text(encoding="utf-8"))


def sagemaker_instance_types() -> list[str]:
    return list(suggestions()["sagemaker_instance_types"])


def bedrock_models() -> list[str]:
    return list(suggestions()["bedrock_models"])
