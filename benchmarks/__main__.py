"""Run the benchmark suite: ``python -m benchmarks run [--quick] [--only NAME ...] [--update-readme]``.

Results (with machine information) go to ``benchmarks/results/<date>-<host>.json`` and ``.md``; targets are reported,
never asserted. ``--quick`` runs are smoke checks: no goal is checked and they are written under
``runs/benchmarks-quick/`` unless ``--record`` asks for ``benchmarks/results/``. ``--update-readme`` copies each
suite's table into README.md between its ``<!-- results:NAME -->`` markers.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import re
import sys
import time
from pathlib import Path

from benchmarks import common
from benchmarks.common import SuiteResult, write_results

SUITES = (
    "env_step",
    "bm25",
    "retrieval",
    "retriever",
    "vector_search",
    "rollout",
    "grpo_step",
    "accuracy",
    "playback",
    "judges",
    "learning",
    "learning_retry",
    "guidance",
    "campaign",
    "anchor",
)
LONG_SUITES = ("learning", "learning_retry", "guidance", "campaign", "anchor")
"""Suites that train for hours: run only when named (``--only learning``)."""
README = Path(__file__).resolve().parent.parent / "README.md"


def update_readme(results: list[SuiteResult], json_path: Path) -> None:
    text = README.read_text()
    for result in results:
        pattern = re.compile(rf"(<!-- results:{result.name} -->\n).*?(<!-- /results:{result.name} -->)", re.DOTALL)
        source = f"From `{json_path.relative_to(README.parent)}`:\n\n{result.table}\n"
        text = pattern.sub(lambda m, body=source: m.group(1) + body + m.group(2), text)
    README.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run benchmark suites")
    run.add_argument(
        "--quick", action="store_true", help="a smoke check: fewer repetitions and questions (minutes on 2 cores)"
    )
    run.add_argument(
        "--record", action="store_true", help="with --quick: write into benchmarks/results/ (default: runs/)"
    )
    run.add_argument("--only", nargs="+", choices=SUITES, help="run only these suites")
    run.add_argument("--update-readme", action="store_true", help="copy the tables into README.md")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    results = []
    for name in args.only or [s for s in SUITES if s not in LONG_SUITES]:
        print(f"running {name} ...", flush=True)
        start = time.perf_counter()
        result: SuiteResult = importlib.import_module(f"benchmarks.{name}").run(quick=args.quick)
        result.seconds = time.perf_counter() - start
        print(result.table, flush=True)
        if args.quick:
            print("  (--quick: a smoke check on a few questions or repetitions; no goal is checked)")
        for target in result.targets if not args.quick else ():
            print(f"  {'ok ' if target.met else 'MISS'} {target.name}: {target.value:,.1f} (goal {target.goal:,.4g})")
        results.append(result)
    output_dir = common.QUICK_RESULTS_DIR if args.quick and not args.record else common.RESULTS_DIR
    json_path, md_path = write_results(results, quick=args.quick, output_dir=output_dir)
    print(f"wrote {json_path} and {md_path}")
    if args.update_readme:
        update_readme(results, json_path)
        print(f"updated {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
