"""Tokenizers for the tiny pipelines, all built locally: nothing is fetched from a hub.

Each one is a byte-level (or character-level) vocabulary with no merges, so any prompt
tokenizes and every id stays below a few hundred: the text encoders' embedding tables
stay tiny. The special tokens are the ones the real pipelines' prompt templates use.
"""

from __future__ import annotations

import json
import string
import tempfile
from pathlib import Path


def _bytes_to_unicode() -> dict[int, str]:
    # The same byte -> printable-character table CLIP and GPT-2 tokenizers use.
    visible = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(
        range(ord("®"), ord("ÿ") + 1)
    )
    chars = visible[:]
    extra = 0
    for b in range(256):
        if b not in visible:
            visible.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(visible, map(chr, chars), strict=True))


# --- CLIP -------------------------------------------------------------------------------

def write_tiny_tokenizer(folder: Path) -> None:
    """A CLIP tokenizer whose vocabulary is every byte, alone and word-final."""
    from transformers import CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    symbols = list(_bytes_to_unicode().values())
    vocab: dict[str, int] = {"<|startoftext|>": 0, "<|endoftext|>": 2, "!!pad!!": 1}
    for token in symbols + [s + "</w>" for s in symbols]:
        vocab.setdefault(token, len(vocab))
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    tokenizer = CLIPTokenizer(
        vocab_file=str(folder / "vocab.json"),
        merges_file=str(folder / "merges.txt"),
        model_max_length=77,
        pad_token="<|endoftext|>",
    )
    tokenizer.save_pretrained(folder)


CLIP_VOCAB_SIZE = 1000  # covers the 515 ids write_tiny_tokenizer hands out


def clip_tokenizer():
    """The CLIP tokenizer above, loaded back (as SD, SDXL, SD3 and Flux 1 use it)."""
    from transformers import CLIPTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        write_tiny_tokenizer(Path(tmp))
        return CLIPTokenizer.from_pretrained(tmp)


# --- T5 ---------------------------------------------------------------------------------

T5_VOCAB_SIZE = 128


def t5_tokenizer():
    """A T5 (Unigram) tokenizer over single printable characters: <pad>=0, </s>=1, <unk>=2."""
    from transformers import T5TokenizerFast

    pieces = ["<pad>", "</s>", "<unk>", "▁"] + [c for c in string.printable if not c.isspace()]
    vocab = [(piece, 0.0 if i < 3 else -1.0) for i, piece in enumerate(pieces)]
    assert len(vocab) <= T5_VOCAB_SIZE
    return T5TokenizerFast(vocab=vocab, extra_ids=0, model_max_length=512)


# --- Qwen2 / Qwen3 ----------------------------------------------------------------------

# In the real Qwen order, right after the 256 byte tokens (the real ones start at 151643).
QWEN_SPECIAL_TOKENS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
)
QWEN_PLAIN_ADDED_TOKENS = ("<think>", "</think>")  # added, not special (as in Qwen3)
QWEN_VOCAB = {
    **{symbol: i for i, symbol in enumerate(_bytes_to_unicode().values())},
    **{token: 256 + i for i, token in enumerate(QWEN_SPECIAL_TOKENS + QWEN_PLAIN_ADDED_TOKENS)},
}
QWEN_VOCAB_SIZE = len(QWEN_VOCAB)  # 272: the text encoders' vocab_size
QWEN_TOKEN_IDS = {
    "bos_token_id": QWEN_VOCAB["<|endoftext|>"],
    "eos_token_id": QWEN_VOCAB["<|im_end|>"],
    "pad_token_id": QWEN_VOCAB["<|endoftext|>"],
    "image_token_id": QWEN_VOCAB["<|image_pad|>"],
    "video_token_id": QWEN_VOCAB["<|video_pad|>"],
    "vision_start_token_id": QWEN_VOCAB["<|vision_start|>"],
    "vision_end_token_id": QWEN_VOCAB["<|vision_end|>"],
}

# Qwen3's chat template, cut down to what the pipelines call: plain-string messages, a
# generation prompt, and `enable_thinking=False` writing the empty think block.
QWEN3_CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{ '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false -%}"
    "{{ '<think>\\n\\n</think>\\n\\n' }}"
    "{%- endif -%}"
    "{%- endif -%}"
)


def qwen_tokenizer(*, chat_template: str | None = None):
    """A byte-level Qwen2 BPE tokenizer (no merges) with Qwen's special tokens."""
    from tokenizers import AddedToken
    from transformers import Qwen2TokenizerFast

    tokenizer = Qwen2TokenizerFast(
        vocab=dict(QWEN_VOCAB),
        merges=[],
        unk_token=None,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens=[t for t in QWEN_SPECIAL_TOKENS if t not in ("<|im_end|>",)],
        model_max_length=32768,
        chat_template=chat_template,
    )
    tokenizer.add_tokens([AddedToken(t, special=False, normalized=False)
                          for t in QWEN_PLAIN_ADDED_TOKENS])
    for token, token_id in QWEN_VOCAB.items():
        assert tokenizer.convert_tokens_to_ids(token) == token_id, token
    assert len(tokenizer) == QWEN_VOCAB_SIZE, len(tokenizer)
    return tokenizer


def qwen3_tokenizer():
    """The Qwen tokenizer with Qwen3's chat template (Z-Image, Flux 2 klein)."""
    return qwen_tokenizer(chat_template=QWEN3_CHAT_TEMPLATE)


def qwen2_vl_processor(tokenizer=None):
    """A Qwen2VLProcessor (Qwen-Image-Edit's `processor`): the tokenizer above plus image and
    video processors that keep images small (at most 56x56 pixels: 4x4 patches of 14, four
    merged vision tokens).

    transformers 5 will not build a Qwen2VLProcessor without its video processor, which
    needs torchvision: without it this raises ImportError (and so would loading the real
    Qwen-Image-Edit)."""
    from transformers import Qwen2VLProcessor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    try:
        from transformers.models.qwen2_vl.video_processing_qwen2_vl import (
            Qwen2VLVideoProcessor,
        )
    except ImportError as exc:
        raise ImportError("a Qwen2VLProcessor needs torchvision (for its video processor) "
                          f"in transformers 5: {exc}") from exc
    size = {"shortest_edge": 28 * 28, "longest_edge": 56 * 56}
    shape = dict(patch_size=14, temporal_patch_size=2, merge_size=2)
    return Qwen2VLProcessor(
        image_processor=Qwen2VLImageProcessorPil(size=size, **shape),
        tokenizer=tokenizer or qwen_tokenizer(),
        video_processor=Qwen2VLVideoProcessor(size=size, **shape),
    )


# --- Mistral (FLUX.2 [dev]) -------------------------------------------------------------

MISTRAL_SPECIAL_TOKENS = (
    "<unk>", "<s>", "</s>", "[INST]", "[/INST]", "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]",
    "[IMG]", "[IMG_BREAK]", "[IMG_END]",
)
MISTRAL_VOCAB = {
    **{token: i for i, token in enumerate(MISTRAL_SPECIAL_TOKENS)},
    **{symbol: len(MISTRAL_SPECIAL_TOKENS) + i
       for i, symbol in enumerate(_bytes_to_unicode().values())},
}
MISTRAL_VOCAB_SIZE = len(MISTRAL_VOCAB)  # 266
MISTRAL_TOKEN_IDS = {
    "bos_token_id": MISTRAL_VOCAB["<s>"],
    "eos_token_id": MISTRAL_VOCAB["</s>"],
    "pad_token_id": MISTRAL_VOCAB["<unk>"],
    "image_token_index": MISTRAL_VOCAB["[IMG]"],
}

# Mistral Small 3.x's chat template, cut down: messages whose content is a string or a list
# of text/image parts; system -> [SYSTEM_PROMPT]..[/SYSTEM_PROMPT], user -> [INST]..[/INST].
MISTRAL_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{%- for message in messages -%}"
    "{%- if message['content'] is string -%}"
    "{%- set parts = [{'type': 'text', 'text': message['content']}] -%}"
    "{%- else -%}{%- set parts = message['content'] -%}{%- endif -%}"
    "{%- if message['role'] == 'system' -%}{{ '[SYSTEM_PROMPT]' }}"
    "{%- elif message['role'] == 'user' -%}{{ '[INST]' }}{%- endif -%}"
    "{%- for part in parts -%}"
    "{%- if part['type'] == 'text' -%}{{ part['text'] }}"
    "{%- elif part['type'] == 'image' -%}{{ '[IMG]' }}{%- endif -%}"
    "{%- endfor -%}"
    "{%- if message['role'] == 'system' -%}{{ '[/SYSTEM_PROMPT]' }}"
    "{%- elif message['role'] == 'user' -%}{{ '[/INST]' }}"
    "{%- else -%}{{ eos_token }}{%- endif -%}"
    "{%- endfor -%}"
)


def mistral_tokenizer():
    """A byte-level BPE (no merges) with Mistral's control tokens, as a fast tokenizer."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE(vocab=dict(MISTRAL_VOCAB), merges=[], fuse_unk=False))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens([AddedToken(t, special=True, normalized=False)
                                for t in MISTRAL_SPECIAL_TOKENS])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
        pad_token="<unk>", model_max_length=32768,
    )
    for token, token_id in MISTRAL_VOCAB.items():
        assert tokenizer.convert_tokens_to_ids(token) == token_id, token
    return tokenizer


def pixtral_processor():
    """A PixtralProcessor (FLUX.2 [dev]'s `tokenizer` component) over the tokenizer above,
    with images kept to 56 px. transformers 5 builds it only with torchvision installed."""
    from transformers import PixtralProcessor
    from transformers.models.pixtral.image_processing_pil_pixtral import (
        PixtralImageProcessorPil,
    )

    image_processor = PixtralImageProcessorPil(
        size={"longest_edge": 56}, patch_size={"height": 14, "width": 14},
    )
    return PixtralProcessor(
        image_processor=image_processor, tokenizer=mistral_tokenizer(), patch_size=14,
        spatial_merge_size=2, chat_template=MISTRAL_CHAT_TEMPLATE,
    )
