"""Other tools' sampler names, as Studio's scheduler names (backends.types.SCHEDULERS).

A1111 writes "DPM++ 2M" plus "Schedule type: Karras", ComfyUI "dpmpp_2m" plus "karras",
InvokeAI "dpmpp_2m_k", NovelAI "k_dpmpp_2m": all the same sampler. Only exact equivalents
are mapped; anything else (LMS, DPM++ 2M SDE, an exponential schedule…) has none.
"""

from __future__ import annotations

import re

_BY_KEY = {
    "euler": "euler",
    "eulera": "euler_a",
    "eulerancestral": "euler_a",
    "heun": "heun",
    "dpmpp2m": "dpm++_2m",
    "dpmpp2mkarras": "dpm++_2m_karras",
    "dpmpp2mk": "dpm++_2m_karras",
    "dpmppsdekarras": "dpm++_sde_karras",
    "dpmppsdek": "dpm++_sde_karras",
    "ddim": "ddim",
    "plms": "pndm",
    "pndm": "pndm",
    "unipc": "unipc",
    "lcm": "lcm",
}
# Schedules that leave a sampler as it is ("Automatic" is A1111's "the sampler's own").
_PLAIN_SCHEDULES = {"", "normal", "simple", "automatic", "default"}


def _key(name: str) -> str:
    key = name.strip().lower()
    for prefix in ("sample_", "k_"):
        key = key.removeprefix(prefix)
    key = key.replace("++", "pp").replace("+", "p")
    return re.sub(r"[\s_\-]", "", key)


def scheduler_for(sampler: str, schedule: str = "") -> str | None:
    """Studio's name for `sampler` run with `schedule`, or None when Studio has no equal."""
    schedule_key = _key(schedule)
    if schedule_key == "karras":
        return _BY_KEY.get(_key(sampler).removesuffix("karras") + "karras")
    if schedule_key not in _PLAIN_SCHEDULES:
        return None
    return _BY_KEY.get(_key(sampler))
