"""Tiny ONNX models in the formats Studio's cut-out and upscaler models use, built with onnx's
helper API (no download), and a model table that points at them.

- a cut-out model: `input_image` 1×3×H×W → `output_image` 1×1×H×W logits (BiRefNet's names),
  here one 1×1 convolution, so tests can compute its answer with numpy;
- an upscaler: 1×3×H×W in 0..1 → 1×3×(sH)×(sW), a convolution then depth-to-space (the
  pixel shuffle ESRGAN-family models end with). A 1×1 kernel has no spatial context, so tiled
  and untiled runs must agree exactly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the dev extra (onnx) is not installed")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

OPSET = 17


def _save(graph: Any, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # readable by every onnxruntime the project supports
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def cutout_weights() -> tuple[np.ndarray, np.ndarray]:
    """A 1×1 convolution whose logit is high where a pixel is redder than it is blue."""
    weight = np.array([8.0, 0.0, -8.0], np.float32).reshape(1, 3, 1, 1)
    bias = np.array([0.0], np.float32)
    return weight, bias


def save_cutout_model(path: Path, side: int | None = 32) -> Path:
    """input_image (1×3×side×side, or dynamic when side is None) → output_image logits."""
    weight, bias = cutout_weights()
    dims: list[Any] = [1, 3, side, side] if side else [1, 3, "height", "width"]
    out_dims: list[Any] = [1, 1, side, side] if side else [1, 1, "height", "width"]
    graph = helper.make_graph(
        [helper.make_node("Conv", ["input_image", "w", "b"], ["output_image"])],
        "tiny-cutout",
        [helper.make_tensor_value_info("input_image", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("output_image", TensorProto.FLOAT, out_dims)],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")])
    return _save(graph, path)


def save_upscaler_model(path: Path, scale: int = 2, kernel: int = 1,
                        side: int | None = None, seed: int = 0) -> Path:
    """1×3×H×W → 1×3×(scale·H)×(scale·W): Conv(kernel, zero padding) then DepthToSpace.

    kernel 1 copies each input channel into the scale² sub-pixels with weights 0 or 1 (exact
    in float); a larger kernel has random weights and spatial context."""
    channels = 3 * scale * scale
    if kernel == 1:
        weight = np.zeros((channels, 3, 1, 1), np.float32)
        for out in range(channels):
            weight[out, out // (scale * scale), 0, 0] = 1.0
    else:
        rng = np.random.default_rng(seed)
        weight = rng.normal(0, 0.2, (channels, 3, kernel, kernel)).astype(np.float32)
        weight[:, :, kernel // 2, kernel // 2] += 0.5
    bias = np.zeros(channels, np.float32)
    pad = kernel // 2
    dims: list[Any] = [1, 3, side, side] if side else [1, 3, "height", "width"]
    out_side = side * scale if side else None
    out_dims: list[Any] = [1, 3, out_side, out_side] if out_side else [1, 3, "oh", "ow"]
    graph = helper.make_graph(
        [helper.make_node("Conv", ["input", "w", "b"], ["features"],
                          pads=[pad, pad, pad, pad]),
         helper.make_node("DepthToSpace", ["features"], ["output"], blocksize=scale,
                          mode="CRD")],
        "tiny-upscaler",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, out_dims)],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")])
    return _save(graph, path)


def cutout_row(name: str = "tiny-cutout", side: int = 32, output: str = "logits") -> dict:
    return {"name": name, "label": "tiny test cut-out", "repo": "tests/tiny-cutout",
            "file": "onnx/model.onnx", "licence": "MIT", "size_mb": 0.001,
            "input_size": [side, side], "mean": [0.485, 0.456, 0.406],
            "std": [0.229, 0.224, 0.225], "output": output}


def upscaler_row(name: str = "tiny-x2", scale: int = 2, tile: int = 16,
                 file: str = "tiny_x2.onnx") -> dict:
    return {"name": name, "label": "tiny test upscaler", "repo": "tests/tiny-upscaler",
            "file": file, "licence": "BSD-3-Clause", "size_mb": 0.001, "scale": scale,
            "tile": tile, "mean": [0, 0, 0], "std": [1, 1, 1], "output": "image"}


def use_table(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kind: str,
              rows: list[dict]) -> None:
    """Make `kind`'s model table the given rows (the shipped table is left alone)."""
    from studio import onnx_models

    path = tmp_path / f"{kind}-table.json"
    path.write_text(json.dumps({"models": rows}), encoding="utf-8")
    real = onnx_models.model_table

    def table(wanted: str):
        return onnx_models.read_table(path, kind) if wanted == kind else real(wanted)

    monkeypatch.setattr(onnx_models, "model_table", table)
