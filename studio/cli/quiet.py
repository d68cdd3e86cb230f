"""Keeps the ML libraries' own chatter off the user's terminal.

transformers, diffusers, huggingface_hub and torchvision print progress bars, advisory
warnings ("requires torchvision (not installed); falling back…") and deprecation notices
meant for their developers. Studio prints its own progress (studio.cli.progress) and its own
errors, so the CLI silences theirs before any of them is imported. Everything here is an
environment variable or a warnings filter: nothing imports torch.

`STUDIO_VERBOSE=1` leaves them all on, for debugging a backend.
"""

from __future__ import annotations

import os
import warnings

# Read by each library when it is first imported.
QUIET_ENVIRONMENT = {
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_HUB_DISABLE_SYMLINKS_WARNING": "1",
    "HF_HUB_DISABLE_EXPERIMENTAL_WARNING": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "DIFFUSERS_VERBOSITY": "error",
    "DIFFUSERS_NO_ADVISORY_WARNINGS": "1",
    # tqdm's own default: turns off every bar that does not ask to be shown (diffusers'
    # "Loading pipeline components", transformers' "Loading checkpoint shards"…).
    "TQDM_DISABLE": "1",
    "TOKENIZERS_PARALLELISM": "false",
}
NOISY_PACKAGES = r"(torch|torchvision|diffusers|transformers|huggingface_hub|accelerate|peft|tqdm)"


def silence_third_party() -> None:
    """Quiet the ML libraries for this process; a value the user set is kept."""
    if os.environ.get("STUDIO_VERBOSE"):
        return
    for key, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    # Deprecations are attributed to the caller (a backend module) as often as to the
    # library, so their categories go whole; Studio raises none of its own.
    for category in (FutureWarning, DeprecationWarning, PendingDeprecationWarning):
        warnings.filterwarnings("ignore", category=category)
    warnings.filterwarnings("ignore", module=NOISY_PACKAGES + r"(\..*)?$")
