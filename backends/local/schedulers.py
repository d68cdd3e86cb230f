"""Our sampler names mapped to diffusers scheduler classes (A1111 naming, as users know it)."""

from __future__ import annotations

from typing import Any

# name -> (diffusers class name, extra config)
SCHEDULER_CLASSES: dict[str, tuple[str, dict[str, Any]]] = {
    "euler": ("EulerDiscreteScheduler", {}),
    "euler_a": ("EulerAncestralDiscreteScheduler", {}),
    "heun": ("HeunDiscreteScheduler", {}),
    "dpm++_2m": ("DPMSolverMultistepScheduler", {}),
    "dpm++_2m_karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
    "dpm++_sde_karras": ("DPMSolverSinglestepScheduler", {"use_karras_sigmas": True}),
    "ddim": ("DDIMScheduler", {}),
    "pndm": ("PNDMScheduler", {}),
    "unipc": ("UniPCMultistepScheduler", {}),
    "lcm": ("LCMScheduler", {}),
}


def build_scheduler(name: str | None, base_config: Any) -> Any:
    """A fresh scheduler for one run; None keeps the model's own scheduler type."""
    import diffusers

    if name is None or str(base_config["_class_name"]).startswith("FlowMatch"):
        # Flow-matching models (SD3, FLUX, Qwen-Image, Z-Image) run only their own
        # flow-match Euler; their family profile allows "euler" alone, which means this.
        class_name, extra = base_config["_class_name"], {}
    else:
        class_name, extra = SCHEDULER_CLASSES[name]
    scheduler_class = getattr(diffusers, class_name)
    return scheduler_class.from_config(base_config, **extra)
