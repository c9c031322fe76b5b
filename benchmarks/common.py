"""What every benchmark shares: machine information, timing helpers, a synthetic Zipf corpus, results files."""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import resource
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rezero_env.data.dataset import QADataset
from rezero_env.types import Document, Task

RESULTS_DIR = Path(__file__).resolve().parent / "results"
QUICK_RESULTS_DIR = Path(__file__).resolve().parent.parent / "runs" / "benchmarks-quick"
"""Where ``--quick`` runs (smoke checks) write unless ``--record`` puts them beside the measurements."""
PACKAGES = ("gymnasium", "numpy", "bm25s", "rank-bm25", "torch", "transformers", "trl", "faiss-cpu")


@dataclass
class Target:
    """A speed or memory goal: ``value`` must be ≥ ``goal`` (or ≤ when ``lower_is_better``)."""

    name: str
    value: float
    goal: float
    lower_is_better: bool = False

    @property
    def met(self) -> bool:
        return self.value <= self.goal if self.lower_is_better else self.value >= self.goal


@dataclass
class SuiteResult:
    """What one benchmark suite measured: raw numbers, targets, and a markdown table for humans."""

    name: str
    metrics: dict[str, Any]
    targets: list[Target] = field(default_factory=list)
    table: str = ""
    seconds: float = 0.0


def machine_info() -> dict[str, Any]:
    """CPU, cores, memory, OS, Python and library versions (read from metadata, nothing is imported)."""
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "host": socket.gethostname(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_gib, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "gpu": None,
        "versions": versions,
    }


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far: ``VmHWM`` on Linux. ``ru_maxrss`` is only the fallback, because
    Linux carries it over from the parent through fork and exec (a child started by a 600 MiB parent reports at least
    600 MiB)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(function: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = function()
    return value, time.perf_counter() - start


def zipf_corpus(n_docs: int, words_per_doc: int = 100, vocabulary: int = 50_000, seed: int = 0) -> list[Document]:
    """``n_docs`` documents of ``words_per_doc`` words drawn from a Zipf(1.1) vocabulary (as in stack.md's numbers)."""
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(vocabulary)])
    ranks = np.minimum(rng.zipf(1.1, size=(n_docs, words_per_doc)), vocabulary) - 1
    return [Document(f"d{i}", " ".join(words[row])) for i, row in enumerate(ranks)]


def zipf_queries(n: int, terms: int = 5, vocabulary: int = 50_000, seed: int = 1) -> list[str]:
    rng = np.random.default_rng(seed)
    ranks = np.minimum(rng.zipf(1.1, size=(n, terms)), vocabulary) - 1
    return [" ".join(f"w{r}" for r in row) for row in ranks]


def zipf_dataset(n_docs: int, n_tasks: int = 64) -> QADataset:
    """A corpus of Zipf documents with placeholder questions, for measuring the environment's own cost."""
    questions = zipf_queries(n_tasks, seed=2)
    tasks = [Task(id=f"t{i}", question=q, answers=("w0",)) for i, q in enumerate(questions)]
    return QADataset(name=f"zipf-{n_docs}", documents=tuple(zipf_corpus(n_docs)), tasks=tuple(tasks))


def write_results(results: list[SuiteResult], quick: bool, output_dir: Path = RESULTS_DIR) -> tuple[Path, Path]:
    """Write ``<date>-<host>.json`` and ``.md`` (``<date>-<host>-quick.*`` for quick runs, so a quick run never
    replaces full measurements) and return their paths. Suites already recorded there today and not run again are
    kept (each suite carries its own ``created`` time)."""
    output_dir.mkdir(parents=True, exist_ok=True)
    info = machine_info()
    stem = f"{datetime.date.today().isoformat()}-{info['host']}{'-quick' if quick else ''}"
    json_path, md_path = output_dir / f"{stem}.json", output_dir / f"{stem}.md"
    created = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    suites = json.loads(json_path.read_text())["suites"] if json_path.is_file() else {}
    for r in results:
        suites[r.name] = {
            "created": created,
            "quick": quick,
            "seconds": round(r.seconds, 1),
            "metrics": r.metrics,
            "targets": [{**asdict(t), "met": t.met} for t in r.targets],
            "table": r.table,
        }
    payload = {"created": created, "machine": info, "suites": suites}
    json_path.write_text(json.dumps(payload, indent=2) + "\n")
    md_path.write_text(markdown_report(payload))
    return json_path, md_path


def read_suite(json_path: Path, name: str) -> dict[str, Any]:
    """The metrics of suite ``name`` recorded in ``json_path`` (a file :func:`write_results` wrote)."""
    try:
        suites = json.loads(json_path.read_text())["suites"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{json_path}: not a readable benchmark results file ({error})") from error
    if name not in suites:
        raise ValueError(f"{json_path}: no suite {name!r} recorded there (it holds {', '.join(sorted(suites))})")
    metrics: dict[str, Any] = suites[name]["metrics"]
    return metrics


def markdown_report(payload: dict[str, Any]) -> str:
    machine = payload["machine"]
    lines = [
        f"# Benchmark results — {payload['created']}",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB, {machine['os']}, "
        f"Python {machine['python']}, GPU: {machine['gpu'] or 'none'}.",
        "",
    ]
    for name, suite in payload["suites"].items():
        lines += [f"## {name} ({suite['created']}{', quick' if suite['quick'] else ''})", "", suite["table"], ""]
        if suite["targets"]:
            lines += ["| target | value | goal | met |", "|---|---|---|---|"]
            for t in suite["targets"]:
                sign = "≤" if t["lower_is_better"] else "≥"
                met = "yes" if t["met"] else "NO"
                lines.append(f"| {t['name']} | {t['value']:,.1f} | {sign} {t['goal']:,.4g} | {met} |")
            lines.append("")
    return "\n".join(lines)
