"""Write a synthetic fact world (the embedded default, or another seed/size) as a dataset folder.

    python scripts/generate_data.py --output-dir data/synthetic-world            # the default world
    python scripts/generate_data.py --output-dir /tmp/world7 --world.seed 7 --world.n-people 5000

The folder (corpus.jsonl + questions.jsonl, rezero's format) loads with
``gym.make("SearchQA-v0", dataset="/tmp/world7")``. The default world is also generated in memory on first use,
so this script is for inspecting the data or building other worlds.
"""

from __future__ import annotations

import collections
import logging
from dataclasses import dataclass, field
from pathlib import Path

import tyro

from rezero_env.data.native import write_native
from rezero_env.data.synthetic import WorldConfig, generate_world


@dataclass
class Args:
    output_dir: Path = Path("data/synthetic-world")
    """Folder to write corpus.jsonl and questions.jsonl into (created if missing)."""
    world: WorldConfig = field(default_factory=WorldConfig)
    """Seed and sizes of the world."""


def main(args: Args) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    dataset = generate_world(args.world)
    write_native(dataset, args.output_dir)
    levels = collections.Counter(str(task.meta["level"]) for task in dataset.tasks)
    splits = {name: len(indices) for name, indices in dataset.splits.items()}
    sizes = {p.name: p.stat().st_size for p in sorted(args.output_dir.glob("*.jsonl"))}
    print(f"Wrote {len(dataset.documents)} documents and {len(dataset.tasks)} questions to {args.output_dir}")
    print(f"levels: {dict(levels)}; splits: {splits}; bytes: {sizes}")


if __name__ == "__main__":
    main(tyro.cli(Args))
