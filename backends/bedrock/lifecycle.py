"""Each Bedrock image model's lifecycle (Active, Legacy, end of life), live when possible.

Bedrock's control plane reports it: ListFoundationModels gives every model's
`modelLifecycle` (status ACTIVE or LEGACY, and the legacy and end-of-life times). Studio
reads it when the credentials allow (bedrock:ListFoundationModels), keeps what it read with
the date, and falls back to the data shipped here, taken from the AWS model cards and the
Bedrock model-lifecycle page. A retired model is refused before anything is sent, with its
end-of-life date and an active replacement.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, Literal

from backends.bedrock.errors import ModelRetired
from backends.bedrock.models import MODELS

Status = Literal["ACTIVE", "LEGACY", "EOL"]
SHIPPED_SOURCE = "the AWS model cards and Bedrock's model-lifecycle page, as shipped with Studio"
LIVE_SOURCE = "Bedrock's ListFoundationModels"
# Generating images: what Studio suggests instead of a retired Amazon image model.
IMAGE_REPLACEMENT = "stability.sd3-5-large-v1:0"
EDIT_REPLACEMENT = ("for editing, use the Stability image services as tasks (inpaint, "
                    "outpaint, remove-background, …)")


@dataclass(frozen=True)
class Lifecycle:
    model_id: str
    label: str
    status: Status  # as reported; `state_on` also applies the dates
    legacy_on: date | None = None
    eol_on: date | None = None
    replacement: str = ""  # a model id to use instead, once this one is retired
    source: str = SHIPPED_SOURCE
    read_on: date | None = None  # when the source was read (None: shipped data)

    def state_on(self, today: date) -> Status:
        if self.status == "EOL" or (self.eol_on is not None and today >= self.eol_on):
            return "EOL"
        if self.status == "LEGACY" or (self.legacy_on is not None and today >= self.legacy_on):
            return "LEGACY"
        return "ACTIVE"

    def describe(self, today: date) -> str:
        """'Active', 'Legacy until 2027-01-15', 'End of life since 2026-09-30'."""
        state = self.state_on(today)
        if state == "EOL":
            return f"End of life since {self.eol_on}" if self.eol_on else "End of life"
        if state == "LEGACY":
            return f"Legacy, end of life on {self.eol_on}" if self.eol_on else "Legacy"
        return "Active"


SHIPPED: dict[str, Lifecycle] = {entry.model_id: entry for entry in (
    Lifecycle("amazon.titan-image-generator-v2:0", "Titan Image Generator v2", "EOL",
              eol_on=date(2026, 6, 30), replacement=IMAGE_REPLACEMENT),
    Lifecycle("amazon.nova-canvas-v1:0", "Nova Canvas", "EOL", eol_on=date(2026, 9, 30),
              replacement=IMAGE_REPLACEMENT),
)}


@dataclass(frozen=True)
class LifecycleBook:
    """The lifecycle of each model Studio knows about; `read_on` is when it was read live."""

    entries: dict[str, Lifecycle]
    read_on: date | None = None

    @classmethod
    def shipped(cls) -> LifecycleBook:
        return cls(dict(SHIPPED))

    def get(self, model_id: str) -> Lifecycle | None:
        return self.entries.get(model_id)

    def state(self, model_id: str, today: date | None = None) -> Status:
        entry = self.entries.get(model_id)
        return entry.state_on(today or _today()) if entry else "ACTIVE"

    def check(self, model_id: str, today: date | None = None) -> str:
        """Raise ModelRetired for a model past its end of life; a warning for a Legacy one
        ('' for an Active one)."""
        today = today or _today()
        entry = self.entries.get(model_id)
        if entry is None:
            return ""
        state = entry.state_on(today)
        if state == "EOL":
            raise ModelRetired(self.retired_message(model_id))
        if state == "LEGACY":
            until = f" and will be retired on {entry.eol_on}" if entry.eol_on else ""
            return (f"{entry.label} is a Legacy model on Bedrock{until}; move to "
                    f"{self._replacement(entry)} before then.")
        return ""

    def retired_message(self, model_id: str) -> str:
        entry = self.entries.get(model_id)
        label = entry.label if entry else model_id
        when = f" on {entry.eol_on}" if entry and entry.eol_on else ""
        source = f" (source: {entry.source}" + (f", read {entry.read_on})" if entry and
                                                 entry.read_on else ")") if entry else ""
        instead = self._replacement(entry) if entry else IMAGE_REPLACEMENT
        return (f"{label} ({model_id}) reached its end of life on Amazon Bedrock{when} and can "
                f"no longer be used{source}. Use {instead} instead; {EDIT_REPLACEMENT}.")

    def offered(self, model_ids: list[str], today: date | None = None) -> list[str]:
        """Those of `model_ids` that are not retired, in order."""
        return [m for m in model_ids if self.state(m, today) != "EOL"]

    def with_live(self, summaries: list[dict[str, Any]], read_on: date) -> LifecycleBook:
        """This book updated with ListFoundationModels' summaries (live data wins; the
        shipped replacement is kept)."""
        entries = dict(self.entries)
        for summary in summaries:
            model_id = str(summary.get("modelId", ""))
            lifecycle = summary.get("modelLifecycle") or {}
            status = str(lifecycle.get("status", "ACTIVE")).upper()
            if not model_id or status not in ("ACTIVE", "LEGACY"):
                continue
            known = entries.get(model_id)
            entries[model_id] = Lifecycle(
                model_id, str(summary.get("modelName") or (known.label if known else model_id)),
                status,  # type: ignore[arg-type]
                legacy_on=_day(lifecycle.get("legacyTime")),
                eol_on=_day(lifecycle.get("endOfLifeTime")),
                replacement=known.replacement if known else "",
                source=LIVE_SOURCE, read_on=read_on)
        return LifecycleBook(entries, read_on)

    def to_dict(self) -> dict[str, Any]:
        return {"read_on": _iso(self.read_on), "models": [
            {"model_id": e.model_id, "label": e.label, "status": e.status,
             "legacy_on": _iso(e.legacy_on), "eol_on": _iso(e.eol_on),
             "replacement": e.replacement, "source": e.source, "read_on": _iso(e.read_on)}
            for e in self.entries.values()]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LifecycleBook:
        """A book saved by to_dict, laid over the shipped data; ValueError if malformed."""
        try:
            entries = dict(SHIPPED)
            for item in data["models"]:
                status = str(item["status"])
                if status not in ("ACTIVE", "LEGACY", "EOL"):
                    raise ValueError(f"unknown status {status!r}")
                shipped = SHIPPED.get(str(item["model_id"]))
                entry = Lifecycle(str(item["model_id"]), str(item["label"]),
                                  status,  # type: ignore[arg-type]
                                  _day(item.get("legacy_on")), _day(item.get("eol_on")),
                                  str(item.get("replacement") or ""), str(item["source"]),
                                  _day(item.get("read_on")))
                if shipped is not None and entry.state_on(_today()) != "EOL":
                    # Shipped data records a retirement the saved read may predate.
                    entry = replace(entry, eol_on=entry.eol_on or shipped.eol_on)
                entries[entry.model_id] = entry
            return cls(entries, _day(data.get("read_on")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"The saved Bedrock model lifecycle is malformed ({exc!r}).") \
                from exc

    def _replacement(self, entry: Lifecycle) -> str:
        if not entry.replacement:
            return IMAGE_REPLACEMENT
        spec = MODELS.get(entry.replacement)
        return f"{spec.label} ({spec.id})" if spec else entry.replacement


def _today() -> date:
    return datetime.now(UTC).date()


def _day(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None
