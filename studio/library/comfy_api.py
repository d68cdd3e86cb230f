"""ComfyUI's API-format graph, the `prompt` text chunk alone, read without its `workflow`.

ComfyUI's SaveImage writes two chunks: `workflow` (the editor's graph, with its links) and
`prompt` (the graph as queued: the API format). Images saved through the API, by ComfyUI
scripts and by many front ends built on it carry only `prompt`, which sd-parsers cannot read
without `workflow`. The API format maps node ids to nodes:

    {"3": {"class_type": "KSampler",
           "inputs": {"seed": 8566257, "steps": 20, "cfg": 8.0, "sampler_name": "euler",
                      "scheduler": "normal", "denoise": 1.0, "model": ["4", 0],
                      "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
     "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5.ckpt"}},
     "5": {"class_type": "EmptyLatentImage",
           "inputs": {"width": 512, "height": 512, "batch_size": 1}},
     "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "…", "clip": ["4", 1]}}, …}

An input is a value or a link, `[node id, output index]`. Settings are read from the first
sampling pass (a KSampler or KSamplerAdvanced whose latent does not come from another
sampler): its seed, steps, cfg, sampler and schedule, denoise; the prompt texts its
`positive` and `negative` links lead to (through ConditioningCombine, SetArea, ControlNet and
the like); the size of the empty latent it starts from; the checkpoint its `model` link
leads to, through LoRA loaders (whose LoRAs are listed, not applied).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

SAMPLERS = ("KSampler", "KSamplerAdvanced")
# How far a link is followed: real graphs chain a few nodes; a cycle or a giant graph stops.
_MAX_DEPTH = 32
_TEXT_INPUTS = ("text", "text_g", "text_l", "string", "value", "prompt")
_MODEL_INPUTS = ("ckpt_name", "unet_name", "model_name")


@dataclass
class ApiSettings:
    """What the graph's first pass says, as raw values (foreign_png checks them)."""

    prompt: str = ""
    negative_prompt: str = ""
    seed: Any = None
    steps: Any = None
    cfg: Any = None
    sampler_name: str = ""
    scheduler: str = ""
    denoise: Any = None
    width: Any = None
    height: Any = None
    model: str = ""
    loras: list[str] = field(default_factory=list)
    further_passes: int = 0


Graph = Mapping[str, Mapping[str, Any]]


def api_graph(chunk: Any) -> Graph | None:
    """The `prompt` chunk as an API-format graph, or None when it is not one."""
    if isinstance(chunk, str):
        try:
            chunk = json.loads(chunk)
        except (json.JSONDecodeError, RecursionError):
            return None
    if not isinstance(chunk, dict) or not chunk:
        return None
    graph = {str(key): node for key, node in chunk.items()
             if isinstance(node, dict) and isinstance(node.get("class_type"), str)
             and isinstance(node.get("inputs"), dict)}
    return graph or None


def read_api_graph(graph: Graph) -> ApiSettings | None:
    """The first sampling pass's settings, or None when the graph has no sampler."""
    samplers = [node_id for node_id, node in graph.items()
                if node["class_type"] in SAMPLERS]
    if not samplers:
        return None
    first = _first_pass(graph, samplers)
    inputs = graph[first]["inputs"]
    advanced = graph[first]["class_type"] == "KSamplerAdvanced"
    settings = ApiSettings(further_passes=len(samplers) - 1)
    settings.seed = _value(graph, inputs.get("noise_seed" if advanced else "seed"))
    settings.steps = _value(graph, inputs.get("steps"))
    settings.cfg = _value(graph, inputs.get("cfg"))
    settings.sampler_name = str(_value(graph, inputs.get("sampler_name")) or "")
    settings.scheduler = str(_value(graph, inputs.get("scheduler")) or "")
    settings.denoise = None if advanced else _value(graph, inputs.get("denoise"))
    settings.prompt = _texts(graph, inputs.get("positive"))
    settings.negative_prompt = _texts(graph, inputs.get("negative"))
    settings.width, settings.height = _latent_size(graph, inputs.get("latent_image"))
    settings.model, settings.loras = _model(graph, inputs.get("model"))
    return settings


def _link(value: Any) -> str | None:
    """The node id a link points at, or None for a plain value."""
    if (isinstance(value, list) and len(value) == 2 and isinstance(value[0], (str, int))
            and not isinstance(value[0], bool) and isinstance(value[1], int)):
        return str(value[0])
    return None


def _walk(graph: Graph, start: Any, follow: Callable[[Mapping[str, Any]], bool]
          ) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The nodes reachable from the link `start` through inputs `follow` lets through,
    depth first, each once."""
    stack = [(_link(start), 0)]
    seen: set[str] = set()
    while stack:
        node_id, depth = stack.pop()
        if node_id is None or node_id in seen or node_id not in graph or depth > _MAX_DEPTH:
            continue
        seen.add(node_id)
        node = graph[node_id]
        yield node_id, node
        if not follow(node):
            continue
        links = [_link(value) for value in node["inputs"].values()]
        stack.extend((link, depth + 1) for link in reversed(links) if link is not None)


def _first_pass(graph: Graph, samplers: list[str]) -> str:
    """The sampler whose latent does not come out of another sampler (the first pass); the
    lowest node id among equals."""
    def upstream_samplers(node_id: str) -> bool:
        latent = graph[node_id]["inputs"].get("latent_image")
        return any(other != node_id and node["class_type"] in SAMPLERS
                   for other, node in _walk(graph, latent, lambda _: True))

    ordered = sorted(samplers, key=_id_order)
    return next((node_id for node_id in ordered if not upstream_samplers(node_id)), ordered[0])


def _id_order(node_id: str) -> tuple[int, str]:
    return (int(node_id), "") if node_id.isdigit() else (1 << 62, node_id)


def _value(graph: Graph, value: Any) -> Any:
    """A plain value, or what a primitive node at the end of a link holds."""
    link = _link(value)
    if link is None:
        return value
    for _, node in _walk(graph, value, lambda _: True):
        for key in ("value", "seed", "noise_seed", "int", "float", "string", "number"):
            found = node["inputs"].get(key)
            if found is not None and _link(found) is None:
                return found
    return None


def _texts(graph: Graph, start: Any) -> str:
    """The prompt texts a conditioning link leads to, in node order, joined by ", "."""
    texts: dict[str, str] = {}

    def through(node: Mapping[str, Any]) -> bool:
        # Past the text encoder lies the CLIP model, not more prompt.
        return "TextEncode" not in node["class_type"]

    for node_id, node in _walk(graph, start, through):
        if "TextEncode" not in node["class_type"]:
            continue
        parts = []
        for key in _TEXT_INPUTS:
            if key in node["inputs"]:
                text = _value(graph, node["inputs"][key])
                if isinstance(text, str) and text.strip() and text.strip() not in parts:
                    parts.append(text.strip())
        if parts:
            texts[node_id] = ", ".join(parts)
    ordered = [texts[node_id] for node_id in sorted(texts, key=_id_order)]
    return ", ".join(dict.fromkeys(ordered))


def _latent_size(graph: Graph, start: Any) -> tuple[Any, Any]:
    """The size of the empty latent the pass starts from; (None, None) from an image."""
    for _, node in _walk(graph, start, lambda node: node["class_type"] not in SAMPLERS):
        if "LatentImage" in node["class_type"] and node["class_type"].startswith("Empty"):
            return (_value(graph, node["inputs"].get("width")),
                    _value(graph, node["inputs"].get("height")))
    return None, None


def _model(graph: Graph, start: Any) -> tuple[str, list[str]]:
    """(the checkpoint the model link leads to, the LoRAs on the way)."""
    model, loras = "", []
    for _, node in _walk(graph, start, lambda _: True):
        inputs = node["inputs"]
        if "lora_name" in inputs and isinstance(inputs["lora_name"], str):
            strength = inputs.get("strength_model")
            loras.append(inputs["lora_name"] + (f":{strength}" if strength is not None else ""))
        for key in _MODEL_INPUTS:
            if not model and isinstance(inputs.get(key), str):
                model = inputs[key]
    return model, loras
