"""Where the Bedrock model lifecycle Studio last read live is kept between runs.

Bedrock's lifecycle is read live (ListFoundationModels) when the credentials allow; what was
read is saved here with its date, so a later run without that permission, or offline, still
knows what was retired. With nothing saved, the backend falls back to its shipped data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from studio.atomic import write_bytes_atomic
from studio.paths import studio_home


def lifecycle_path() -> Path:
    return studio_home() / "bedrock" / "lifecycle.json"


def load_lifecycle_data() -> dict[str, Any] | None:
    """What was saved (LifecycleBook.to_dict()), or None if nothing readable was."""
    try:
        data = json.loads(lifecycle_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def save_lifecycle_data(data: dict[str, Any]) -> None:
    """Keep a live read; a write that fails costs only the next run a re-read."""
    path = lifecycle_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, json.dumps(data, indent=1).encode("utf-8"))
    except OSError:
        pass
