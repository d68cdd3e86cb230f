"""ComfyUI PNGs that carry only the API-format `prompt` chunk (saved through the API or by a
front end on ComfyUI), read into a request.

Two sources of graphs:
- ComfyUI's own default text-to-image graph in API format, as "Save (API Format)" exports it
  and as ComfyUI's script_examples/basic_api_example.py queues it (nodes 3 KSampler,
  4 CheckpointLoaderSimple, 5 EmptyLatentImage, 6 and 7 CLIPTextEncode, 8 VAEDecode,
  9 SaveImage), extended here with a LoRA loader, a seed from a primitive node and a
  KSamplerAdvanced variant;
- the real ComfyUI PNGs of sd-parsers' test set (tests/library/data/foreign) with their
  `workflow` chunk removed, which must read as they do with it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from backends.errors import InvalidRequest
from studio.library.comfy_api import api_graph, read_api_graph
from studio.library.foreign_png import read_generation_settings

DATA = Path(__file__).parent / "data" / "foreign"

DEFAULT_GRAPH: dict[str, Any] = {
    "3": {"class_type": "KSampler", "inputs": {
        "seed": 156680208700286, "steps": 20, "cfg": 8.0, "sampler_name": "euler",
        "scheduler": "normal", "denoise": 1.0, "model": ["4", 0], "positive": ["6", 0],
        "negative": ["7", 0], "latent_image": ["5", 0]}},
    "4": {"class_type": "CheckpointLoaderSimple",
          "inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}},
    "5": {"class_type": "EmptyLatentImage",
          "inputs": {"width": 512, "height": 512, "batch_size": 1}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {
        "text": "beautiful scenery nature glass bottle landscape, , purple galaxy bottle,",
        "clip": ["4", 1]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "text, watermark",
                                                     "clip": ["4", 1]}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    "9": {"class_type": "SaveImage",
          "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}},
}


def _png(tmp_path: Path, chunks: dict[str, str], name: str = "comfy.png") -> Path:
    info = PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    path = tmp_path / name
    Image.new("RGB", (16, 16), (40, 90, 160)).save(path, pnginfo=info)
    return path


def _api_only(tmp_path: Path, graph: dict[str, Any]) -> Path:
    return _png(tmp_path, {"prompt": json.dumps(graph)})


def test_comfyuis_default_graph_in_api_format(tmp_path: Path) -> None:
    graph = copy.deepcopy(DEFAULT_GRAPH)
    graph["3"]["inputs"]["seed"] = 8566257  # within Studio's range
    found = read_generation_settings(_api_only(tmp_path, graph))
    assert (found.tool, found.found_in) == ("ComfyUI", "PNG text chunks")
    request = found.request
    assert request.prompt == ("beautiful scenery nature glass bottle landscape, , purple "
                              "galaxy bottle,")
    assert request.negative_prompt == "text, watermark"
    assert (request.seed, request.steps, request.guidance) == (8566257, 20, 8.0)
    assert (request.width, request.height) == (512, 512)
    assert request.scheduler == "euler" and found.sampler == "euler, normal"
    assert request.model == "v1-5-pruned-emaonly.safetensors"
    assert "strength" not in found.found  # denoise 1: text to image
    assert found.skipped == ()
    assert set(found.found) >= {"prompt", "negative_prompt", "seed", "steps", "guidance",
                                "width", "height", "scheduler", "model"}


def test_a_64_bit_seed_is_skipped_and_said_why(tmp_path: Path) -> None:
    found = read_generation_settings(_api_only(tmp_path, DEFAULT_GRAPH))
    assert found.request.seed is None
    assert any(reason.startswith("seed 156680208700286") for reason in found.skipped)
    assert found.request.steps == 20


def test_advanced_sampler_lora_and_a_seed_from_a_primitive_node(tmp_path: Path) -> None:
    graph = copy.deepcopy(DEFAULT_GRAPH)
    inputs = graph["3"]["inputs"]
    graph["3"] = {"class_type": "KSamplerAdvanced", "inputs": {
        "add_noise": "enable", "noise_seed": ["20", 0], "steps": 30, "cfg": 6.5,
        "sampler_name": "dpmpp_2m", "scheduler": "karras", "start_at_step": 0,
        "end_at_step": 10000, "return_with_leftover_noise": "disable",
        "model": ["10", 0], "positive": inputs["positive"], "negative": inputs["negative"],
        "latent_image": inputs["latent_image"]}}
    graph["10"] = {"class_type": "LoraLoader", "inputs": {
        "lora_name": "detail.safetensors", "strength_model": 0.8, "strength_clip": 0.8,
        "model": ["4", 0], "clip": ["4", 1]}}
    graph["20"] = {"class_type": "PrimitiveInt", "inputs": {"value": 1234}}
    graph["5"]["inputs"].update(width=768, height=1024)
    found = read_generation_settings(_api_only(tmp_path, graph))
    request = found.request
    assert (request.seed, request.steps, request.guidance) == (1234, 30, 6.5)
    assert request.scheduler == "dpm++_2m_karras"
    assert (request.width, request.height) == (768, 1024)
    assert request.model == "v1-5-pruned-emaonly.safetensors"
    assert found.other["loras"] == "detail.safetensors:0.8"
    assert any("LoRA" in reason for reason in found.skipped)


def test_prompts_through_combined_conditioning_and_img2img_denoise(tmp_path: Path) -> None:
    graph = copy.deepcopy(DEFAULT_GRAPH)
    graph["3"]["inputs"].update(positive=["12", 0], denoise=0.6, latent_image=["14", 0])
    graph["11"] = {"class_type": "CLIPTextEncode",
                   "inputs": {"text": "golden hour", "clip": ["4", 1]}}
    graph["12"] = {"class_type": "ConditioningCombine",
                   "inputs": {"conditioning_1": ["6", 0], "conditioning_2": ["11", 0]}}
    graph["13"] = {"class_type": "LoadImage", "inputs": {"image": "photo.png"}}
    graph["14"] = {"class_type": "VAEEncode", "inputs": {"pixels": ["13", 0],
                                                         "vae": ["4", 2]}}
    found = read_generation_settings(_api_only(tmp_path, graph))
    assert found.request.prompt.endswith("purple galaxy bottle,, golden hour")
    assert found.request.strength == pytest.approx(0.6)
    assert "width" not in found.found  # starts from a loaded image


@pytest.mark.parametrize("name", ["img2img_cropped.png", "night_evening_day_morning_cropped.png"])
def test_real_comfyui_pngs_without_their_workflow_read_as_with_it(tmp_path: Path,
                                                                  name: str) -> None:
    with Image.open(DATA / name) as original:
        prompt_chunk = original.text["prompt"]
    with_workflow = read_generation_settings(DATA / name)
    api_only = read_generation_settings(_png(tmp_path, {"prompt": prompt_chunk}, name))
    assert api_only.tool == "ComfyUI"
    for key in ("negative_prompt", "seed", "steps", "guidance", "width", "height", "model",
                "scheduler", "strength"):
        assert getattr(api_only.request, key) == getattr(with_workflow.request, key), key
    assert set(with_workflow.request.prompt.split(", ")) == set(
        api_only.request.prompt.split(", "))
    assert api_only.skipped[0].split(":")[0] == with_workflow.skipped[0].split(":")[0]


def test_a_graph_without_a_sampler_or_prompt_text_gets_the_exact_message(tmp_path: Path) -> None:
    no_sampler = {key: node for key, node in DEFAULT_GRAPH.items() if key != "3"}
    with pytest.raises(InvalidRequest, match="carries no generation settings"):
        read_generation_settings(_api_only(tmp_path, no_sampler))
    no_text = copy.deepcopy(DEFAULT_GRAPH)
    no_text["6"]["inputs"]["text"] = ""
    with pytest.raises(InvalidRequest, match="written by ComfyUI, but its settings hold no "
                                             "prompt"):
        read_generation_settings(_api_only(tmp_path, no_text))


def test_links_in_a_cycle_end() -> None:
    graph = copy.deepcopy(DEFAULT_GRAPH)
    graph["6"] = {"class_type": "ConditioningCombine",
                  "inputs": {"conditioning_1": ["7", 0], "conditioning_2": ["6", 0]}}
    graph["3"]["inputs"]["model"] = ["3", 0]
    settings_found = read_api_graph(graph)
    assert settings_found is not None
    assert settings_found.prompt == "text, watermark"  # each node once, the walk ends


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=4),
    max_leaves=30)
_node = st.fixed_dictionaries({
    "class_type": st.sampled_from(["KSampler", "KSamplerAdvanced", "CLIPTextEncode",
                                   "EmptyLatentImage", "LoraLoader", "X"]),
    "inputs": st.dictionaries(
        st.sampled_from(["seed", "steps", "cfg", "text", "model", "positive", "negative",
                         "latent_image", "width", "height", "value", "lora_name"]),
        _json | st.tuples(st.sampled_from(["1", "2", "3"]), st.integers(0, 2)).map(list),
        max_size=6)})


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["1", "2", "3", "a"]), _node, max_size=4) | _json)
def test_any_prompt_chunk_reads_without_an_exception(chunk: Any) -> None:
    graph = api_graph(json.dumps(chunk))
    if graph is not None:
        found = read_api_graph(graph)
        assert found is None or isinstance(found.prompt, str)
