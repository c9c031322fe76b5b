"""GPU check of the training path: GRPO steps with the transformers backend on CUDA, and vLLM when installed.

    python -m benchmarks.gpu_grpo --model PATH --output results.json

``--model`` may be a folder holding only a ``config.json`` and tokenizer files: the model is then built with random
weights (throughput depends on the architecture, not the weights; random weights never emit a stop string, so
every message runs to ``max_new_tokens`` — the worst case). Writes machine info, per-step timings and tokens/s.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import machine_info, peak_rss_mib


def materialise(model: str, folder: Path) -> str:
    """A loadable model path: ``model`` itself, or a random-weight copy of a config-only folder."""
    source = Path(model)
    if not source.is_dir() or any(source.glob("*.safetensors")):
        return model
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    built = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(source))
    built.save_pretrained(folder)
    AutoTokenizer.from_pretrained(source).save_pretrained(folder)
    return str(folder)


def run(model: str, steps: int, questions: int, generations: int, max_new_tokens: int, backend: str) -> dict[str, Any]:
    import torch

    from rezero_agents.grpo import GRPOLearner
    from rezero_agents.grpo_config import GRPOConfig

    with tempfile.TemporaryDirectory() as scratch:
        path = materialise(model, Path(scratch) / "model")
        config = GRPOConfig(
            output_dir=Path(scratch) / "run",
            model=path,
            device="cuda",
            dtype="auto",
            backend=backend,  # type: ignore[arg-type]
            total_steps=steps + 1,
            questions_per_step=questions,
            num_generations=generations,
            rollout_batch_size=questions * generations,
            max_new_tokens=max_new_tokens,
            max_sequence_tokens=4096,
            max_turns=2,
            few_shot=False,
            beta=0.04,
            eval_before=False,
            micro_batch_size=16,
            log_episodes=False,
        )
        learner = GRPOLearner(config)
        learner.train_step()  # warm-up: CUDA kernels, allocator
        torch.cuda.synchronize()
        timings = []
        for _ in range(steps):
            start = time.perf_counter()
            metrics = learner.train_step()
            torch.cuda.synchronize()
            timings.append({"step_s": time.perf_counter() - start, **metrics})
        learner.close()
    return {
        "backend": backend,
        "model": model,
        "dtype": str(next(learner.unwrapped_model.parameters()).dtype),
        "episodes_per_step": questions * generations,
        "max_new_tokens": max_new_tokens,
        "step_s": statistics.median(t["step_s"] for t in timings),
        "rollout_s": statistics.median(t["perf/rollout_seconds"] for t in timings),
        "train_s": statistics.median(t["perf/train_seconds"] for t in timings),
        "generated_tokens_per_s": statistics.median(t["perf/generated_tokens_per_s"] for t in timings),
        "peak_gpu_mib": torch.cuda.max_memory_allocated() / 2**20,
        "peak_rss_mib": peak_rss_mib(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument("--generations", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    import torch

    info = machine_info()
    info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    info["torch_cuda"] = torch.version.cuda
    results: dict[str, Any] = {"machine": info, "runs": []}
    results["runs"].append(
        run(args.model, args.steps, args.questions, args.generations, args.max_new_tokens, "transformers")
    )
    try:
        import vllm  # noqa: F401
    except ImportError as error:
        results["vllm"] = f"not run: vllm is not installed here ({error})"
    else:
        results["runs"].append(
            run(args.model, args.steps, args.questions, args.generations, args.max_new_tokens, "vllm")
        )
    args.output.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
