"""Which id to invoke a model by in a region: its own, or a cross-region inference profile.

Bedrock serves some models on demand under their own id in a few regions and others only
through a cross-region inference profile, whose id is the model id behind a geography prefix
("us.stability.stable-image-inpaint-v1:0"). The profile must be invoked from one of the
regions it serves; the choice is made here, before sending, and recorded with the image.
"""

from __future__ import annotations

from backends.bedrock.errors import ModelNotAvailable
from backends.bedrock.models import ModelSpec


def invocation_id(spec: ModelSpec, region: str) -> str:
    """The model id to call from `region`; ModelNotAvailable (nothing sent) if none serves it."""
    if region in spec.regions:
        return spec.id
    for geography, regions in (spec.profiles or {}).items():
        if region in regions:
            return f"{geography}.{spec.id}"
    raise ModelNotAvailable(f"{spec.label} cannot be reached from {region or 'this region'}. "
                            f"{where_offered(spec)} Choose one of those regions in Settings "
                            "(or with --region).")


def where_offered(spec: ModelSpec) -> str:
    parts = []
    if spec.regions:
        parts.append(f"on demand in {', '.join(spec.regions)}")
    for geography, regions in (spec.profiles or {}).items():
        parts.append(f"through the {geography.upper()} cross-region inference profile "
                     f"({geography}.{spec.id}) from {', '.join(regions)}")
    return f"Bedrock serves {spec.label} " + " and ".join(parts) + "."


def offered_regions(spec: ModelSpec) -> tuple[str, ...]:
    regions = list(spec.regions)
    for served in (spec.profiles or {}).values():
        regions.extend(r for r in served if r not in regions)
    return tuple(regions)
