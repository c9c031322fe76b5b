"""Saving and loading BM25 indexes (``index_dir``), and ``scripts/build_index.py`` building indexes the environment
then loads instead of indexing again."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import gymnasium as gym
import pytest

import rezero_env  # noqa: F401  (registers the ids)
from rezero_env.data.dataset import QADataset
from rezero_env.data.native import write_native
from rezero_env.search.bm25 import BM25Search
from rezero_env.search.dense import DenseSearch
from rezero_env.search.manifest import IndexMismatchError
from rezero_env.types import Document, Task

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = [
    Document("a", "The Amber Astrolabe was made by Orlen Vask in 1643.", title="Amber Astrolabe"),
    Document("b", "Orlen Vask was born in Velmora."),
    Document("c", "Velmora lies on the Kesh River."),
    Document("d", "Cats purr when they are content."),
]
QUERIES = ["Where was Orlen Vask born?", "Amber Astrolabe", "Kesh River", "cats", "", "the of", "unknownword"]


def test_a_saved_index_loads_with_identical_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = BM25Search(DOCS, index_dir=tmp_path / "idx")
    assert (tmp_path / "idx" / "manifest.json").is_file() and built.index_dir == tmp_path / "idx"

    def no_build(self: BM25Search) -> None:
        raise AssertionError("the saved index should have been loaded, not rebuilt")

    monkeypatch.setattr(BM25Search, "_build", no_build)
    loaded = BM25Search(DOCS, index_dir=str(tmp_path / "idx"))
    assert loaded.batch_search(QUERIES, k=3) == built.batch_search(QUERIES, k=3)
    assert [r.doc_id for r in loaded.search("Where was Orlen Vask born?", k=2)] == ["b", "a"]


def test_an_index_of_another_corpus_or_settings_is_refused(tmp_path: Path) -> None:
    BM25Search(DOCS, index_dir=tmp_path)
    changed = [*DOCS[:-1], Document("d", "Rye bread is dense.")]
    with pytest.raises(IndexMismatchError, match="corpus_fingerprint"):
        BM25Search(changed, index_dir=tmp_path)
    with pytest.raises(IndexMismatchError, match=r"num_documents: index has 4, requested 3"):
        BM25Search(DOCS[:3], index_dir=tmp_path)
    with pytest.raises(IndexMismatchError, match=r"settings\.k1: index has 1\.5, requested 0\.9"):
        BM25Search(DOCS, k1=0.9, index_dir=tmp_path)
    BM25Search(changed, index_dir=tmp_path, rebuild=True)  # an explicit rebuild overwrites
    assert BM25Search(changed, index_dir=tmp_path).search("rye bread", k=1)[0].doc_id == "d"


def test_index_dir_true_uses_the_cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REZERO_CACHE", str(tmp_path))
    engine = BM25Search(DOCS, index_dir=True)
    assert engine.index_dir is not None and engine.index_dir.parent == tmp_path / "indexes"
    assert engine.index_dir.name.startswith("bm25-") and (engine.index_dir / "manifest.json").is_file()
    assert BM25Search(DOCS).index_dir is None and not list((tmp_path / "indexes").glob("*"))[1:]  # default: memory


def test_bad_persistence_options(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="only the 'bm25s' backend saves"):
        BM25Search(DOCS, backend="rank_bm25", index_dir=tmp_path)
    with pytest.raises(ValueError, match="index_dir must be a folder path"):
        BM25Search(DOCS, index_dir=3.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Only the 'bm25s' backend saves"):
        BM25Search(DOCS, backend="rank_bm25").save(tmp_path)
    assert BM25Search(DOCS, backend="rank_bm25", index_dir=False).search("cats", 1)[0].doc_id == "d"


def test_the_env_takes_index_dir_through_search_options(tmp_path: Path) -> None:
    folder = write_tiny_dataset(tmp_path / "data")
    BM25Search(tuple(_tiny_dataset().documents), index_dir=tmp_path / "idx")
    env = gym.make("SearchQA-v0", dataset=str(folder), split="all", search_options={"index_dir": str(tmp_path / "idx")})
    env.reset(seed=0)
    observation, *_ = env.step("<search>Velmora river</search>")
    assert "Kesh River" in observation


# --- scripts/build_index.py -------------------------------------------------------------------------------------------


def _tiny_dataset() -> QADataset:
    tasks = [
        Task("t0", "Who made the Amber Astrolabe?", ("Orlen Vask",), ("a",)),
        Task("t1", "Where was Orlen Vask born?", ("Velmora",), ("b",)),
        Task("t2", "Which river runs by Velmora?", ("Kesh River",), ("c",)),
        Task("t3", "When do cats purr?", ("when content",), ("d",)),
    ]
    return QADataset("tiny", tuple(DOCS), tuple(tasks))


def write_tiny_dataset(folder: Path) -> Path:
    write_native(_tiny_dataset(), folder)
    return folder


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_index", REPO_ROOT / "scripts" / "build_index.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_index"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_build_index_saves_where_the_env_loads_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REZERO_CACHE", str(tmp_path / "cache"))
    folder = write_tiny_dataset(tmp_path / "data")
    script = load_script()
    built = script.main(script.Args(dataset=str(folder)))
    assert [(b.engine, b.documents, b.rebuilt) for b in built] == [("bm25", 4, True), ("dense", 4, True)]
    assert all(b.folder.parent == tmp_path / "cache" / "indexes" for b in built)
    summary = capsys.readouterr().out
    assert "4 documents" in summary and str(built[1].folder) in summary and 'search_engine="dense")' in summary

    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("the environment re-indexed instead of loading the saved index")

    monkeypatch.setattr(DenseSearch, "_build", no_build)
    monkeypatch.setattr(BM25Search, "_build", no_build)
    for engine, options in (("dense", None), ("bm25", {"index_dir": True})):
        env = gym.make("SearchQA-v0", dataset=str(folder), split="all", search_engine=engine, search_options=options)
        env.reset(seed=0)
        assert "Velmora" in env.step("<search>where was Orlen Vask born</search>")[0]

    again = script.main(script.Args(dataset=str(folder), engine="dense"))  # a second run loads
    assert [(b.engine, b.rebuilt) for b in again] == [("dense", False)]
    assert "loaded" in capsys.readouterr().out


def test_build_index_into_a_folder_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_tiny_dataset(tmp_path / "data")
    script = load_script()
    built = script.main(script.Args(dataset=str(folder), engine="bm25", index_dir=tmp_path / "idx", k1=1.2))
    assert built[0].folder == tmp_path / "idx" / "bm25" and built[0].search_options["k1"] == 1.2
    assert "'index_dir': '" in capsys.readouterr().out
    rebuilt = script.main(script.Args(dataset=str(folder), engine="bm25", index_dir=tmp_path / "idx", rebuild=True))
    with pytest.raises(SystemExit, match=r"settings\.k1"):  # the saved index has k1=1.5 now
        script.main(script.Args(dataset=str(folder), engine="bm25", index_dir=tmp_path / "idx", k1=2.0))
    assert rebuilt[0].rebuilt
    with pytest.raises(SystemExit, match="neither 'synthetic', an existing folder"):
        script.main(script.Args(dataset=str(tmp_path / "missing")))
