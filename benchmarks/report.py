"""Output of benchmarks/speed.py: the hardware header, tables (rich when installed, else
plain pipe-separated columns that paste into Markdown), and the number formats."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import math
import os
import platform
from collections.abc import Sequence
from typing import Any

DASH = "—"


def hardware(device: str) -> dict[str, Any]:
    """What the figures were measured on."""
    import torch

    info: dict[str, Any] = {
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "device": device,
        "cpu": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    if hasattr(os, "getloadavg"):  # other work on the machine skews CPU figures
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    for package in ("torch", "diffusers", "transformers", "torchao", "flash_attn",
                    "flash_attn_3", "sageattention", "triton"):
        try:
            info[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        info.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 2**30, 1),
                    gpu_capability=f"{props.major}.{props.minor}", cuda=torch.version.cuda)
    return info


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def header_lines(info: dict[str, Any]) -> list[str]:
    lines = [f"date: {info['date']}"]
    if "gpu" in info:
        lines.append(f"GPU: {info['gpu']} ({info['gpu_memory_gib']} GiB, "
                     f"sm {info['gpu_capability']}), CUDA {info['cuda']}")
    else:
        lines.append("GPU: none (CPU run)")
    load = info.get("load_average")
    lines.append(f"CPU: {info['cpu']}, {info['cpu_cores']} cores "
                 f"(torch threads {info['torch_threads']})"
                 + (f", load average {load[0]:.2f} at the start" if load else ""))
    versions = ", ".join(f"{name} {info[name]}" for name in (
        "torch", "diffusers", "transformers", "torchao", "flash_attn", "flash_attn_3",
        "sageattention", "triton") if name in info)
    lines.append(f"software: Python {info['python']}, {versions}")
    lines.append(f"platform: {info['platform']}")
    return lines


# --- numbers ---------------------------------------------------------------------------------

def seconds(value: float | None, digits: int = 2) -> str:
    return DASH if value is None else f"{value:.{digits}f}"


def ratio(value: float | None) -> str:
    return DASH if value is None else f"{value:.2f}×"


def mebibytes(value: int | None) -> str:
    if value is None:
        return DASH
    if value >= 10 * 2**30:
        return f"{value / 2**30:.1f} GiB"
    return f"{value / 2**20:.0f} MiB"


def decibels(value: float | None) -> str:
    if value is None:
        return DASH
    if math.isnan(value):
        return "nan"
    return "inf" if math.isinf(value) else f"{value:.1f} dB"


# --- tables ----------------------------------------------------------------------------------

def render(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], *,
           plain: bool) -> str:
    """A table as text: rich's when installed and not `plain`, else aligned pipes."""
    if not plain:
        try:
            return _render_rich(title, columns, rows)
        except ImportError:
            pass
    return _render_plain(title, columns, rows)


def _render_plain(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(c)), *(len(str(r[i])) for r in rows)) for i, c in enumerate(columns)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [title, "", line(columns), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(row) for row in rows]
    return "\n".join(out)


def _render_rich(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    # escape: "FLUX.1 [dev]" is not markup
    table = Table(title=escape(title), box=box.SIMPLE_HEAVY, title_justify="left")
    for index, column in enumerate(columns):
        table.add_column(escape(column), justify="left" if index == 0 else "right",
                         no_wrap=True)
    for row in rows:
        table.add_row(*(escape(str(cell)) for cell in row))
    console = Console(width=220, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(table)
    console.file.close()
    return "\n".join(line.rstrip() for line in console.export_text().splitlines()).strip("\n")
