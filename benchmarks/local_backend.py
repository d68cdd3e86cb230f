"""Local backend figures: cold load, warm latency and its breakdown, seconds per step, memory.

    python benchmarks/local_backend.py                       # a tiny random model, CPU
    python benchmarks/local_backend.py --model stabilityai/sdxl-turbo --size 1024 --steps 4

Prints one line per run and a summary; on CUDA it adds peak GPU memory.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backends import GenerationRequest  # noqa: E402
from backends.local import LocalBackend  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="hub id, folder or .safetensors (default: tiny SD)")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--device", choices=["cuda", "mps", "cpu"])
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        model = args.model
        if model is None:
            from tests.tiny_models import save_tiny_pipeline

            model = str(save_tiny_pipeline(Path(scratch) / "tiny-sd"))
        backend = LocalBackend(model, device=args.device)
        request = GenerationRequest(prompt="a product photo of a leather bag", seed=1,
                                    steps=args.steps, width=args.size, height=args.size,
                                    count=args.count, guidance=0.0 if "turbo" in model else 7.0)
        results = []
        for run in range(args.runs + 1):
            result = backend.generate(request)
            t = result.timings
            label = "cold" if run == 0 else f"warm {run}"
            print(f"{label:>7}: total {t.total_s:7.3f} s  load {t.load_s:7.3f}  inference "
                  f"{t.inference_s:7.3f}  decode {t.decode_s:6.3f}  "
                  f"{t.inference_s / args.steps * 1000:7.1f} ms/step  {result.device}")
            if run:
                results.append(result)

    warm = [r.timings for r in results]
    print(f"\nmodel {model} · {args.size}×{args.size} · {args.steps} steps · {args.count} image(s)")
    print(f"warm total p50 {statistics.median(t.total_s for t in warm):.3f} s, "
          f"inference p50 {statistics.median(t.inference_s for t in warm):.3f} s, "
          f"decode p50 {statistics.median(t.decode_s for t in warm):.3f} s")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    try:
        import torch

        if torch.cuda.is_available():
            print(f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")
    except ImportError:
        pass


if __name__ == "__main__":
    main()
