"""Saving and loading BM25 indexes (``index_dir``), and ``scripts/build_index.py`` building indexes the environment
then loads instead of indexing again."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import random
import re
import shutil
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
from rezero_env.search.manifest import IndexCorruptError, IndexMismatchError
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


# --- verification: sizes, checksums and counts in the manifest; damaged indexes are rebuilt ---------------------------

BM25_FILES = [
    "params.index.json",
    "vocab.index.json",
    "data.csc.index.npy",
    "indices.csc.index.npy",
    "indptr.csc.index.npy",
]


def damage(path: Path, how: str) -> None:
    """Damage ``path`` as a crash, a full disk or bit rot would."""
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "random":
        path.write_bytes(random.Random(0).randbytes(len(data)))
    elif how == "flip":  # one bit, near the end (in the data, past any header)
        at = len(data) - 3
        path.write_bytes(data[:at] + bytes([data[at] ^ 0x10]) + data[at + 1 :])
    elif how == "missing":
        path.unlink()
    else:
        raise AssertionError(how)


def rebuild_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "rebuilding" in r.getMessage()]


def test_the_manifest_records_sizes_checksums_and_the_vector_count(tmp_path: Path) -> None:
    BM25Search(DOCS, index_dir=tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["num_vectors"] == len(DOCS)
    assert sorted(manifest["files"]) == sorted(f"bm25s/{name}" for name in BM25_FILES)
    for name, entry in manifest["files"].items():
        data = (tmp_path / name).read_bytes()
        assert entry == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


@pytest.mark.parametrize("how", ["truncate", "random", "flip", "empty", "missing"])
@pytest.mark.parametrize("name", BM25_FILES)
def test_a_damaged_bm25_file_is_rebuilt_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str, how: str
) -> None:
    expected = BM25Search(DOCS).batch_search(QUERIES, k=4)
    BM25Search(DOCS, index_dir=tmp_path)
    damage(tmp_path / "bm25s" / name, how)
    caplog.set_level(logging.WARNING)
    repaired = BM25Search(DOCS, index_dir=tmp_path)
    assert repaired.batch_search(QUERIES, k=4) == expected
    (warning,) = rebuild_warnings(caplog)
    assert name in warning and str(tmp_path) in warning
    caplog.clear()
    assert BM25Search(DOCS, index_dir=tmp_path).batch_search(QUERIES, k=4) == expected  # the rebuilt one was saved
    assert rebuild_warnings(caplog) == []


@pytest.mark.parametrize("how", ["truncate", "random", "empty", "missing"])
def test_a_damaged_manifest_is_rebuilt_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    BM25Search(DOCS, index_dir=tmp_path)
    damage(tmp_path / "manifest.json", how)
    caplog.set_level(logging.WARNING)
    assert BM25Search(DOCS, index_dir=tmp_path).search("Kesh River", k=1)[0].doc_id == "c"
    (warning,) = rebuild_warnings(caplog)
    assert "manifest.json" in warning


@pytest.mark.parametrize("documents", [DOCS[:3], [*DOCS, Document("e", "Rye bread is dense.")]], ids=["fewer", "more"])
@pytest.mark.parametrize("old_manifest", [False, True], ids=["manifest", "old-manifest"])
def test_an_index_of_other_documents_under_the_manifest_is_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, documents: list[Document], old_manifest: bool
) -> None:
    """A valid index of fewer or more documents put in place of the right one (the manifest left as it was)."""
    BM25Search(DOCS, index_dir=tmp_path / "idx")
    BM25Search(documents, index_dir=tmp_path / "other")
    if old_manifest:
        make_old_manifest(tmp_path / "idx")
    shutil.rmtree(tmp_path / "idx" / "bm25s")
    shutil.copytree(tmp_path / "other" / "bm25s", tmp_path / "idx" / "bm25s")
    caplog.set_level(logging.WARNING)
    repaired = BM25Search(DOCS, index_dir=tmp_path / "idx")
    assert repaired.batch_search(QUERIES, k=4) == BM25Search(DOCS).batch_search(QUERIES, k=4)
    assert len(rebuild_warnings(caplog)) == 1


def make_old_manifest(folder: Path) -> None:
    """Rewrite ``folder``'s manifest as rezero wrote it before it recorded checksums."""
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest = {key: value for key, value in manifest.items() if key not in ("files", "num_vectors", "manifest_sha256")}
    (folder / "manifest.json").write_text(json.dumps({**manifest, "manifest_version": 1}))


def test_an_old_manifest_without_checksums_still_loads(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = BM25Search(DOCS, index_dir=tmp_path)
    make_old_manifest(tmp_path)

    def no_build(self: BM25Search) -> None:
        raise AssertionError("an old index that passes the checks should be loaded, not rebuilt")

    monkeypatch.setattr(BM25Search, "_build", no_build)
    caplog.set_level(logging.WARNING)
    assert BM25Search(DOCS, index_dir=tmp_path).batch_search(QUERIES, k=3) == built.batch_search(QUERIES, k=3)
    assert any("no checksums" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("name", ["data.csc.index.npy", "manifest.json"])
def test_without_rebuilding_a_damaged_index_is_an_error_naming_the_file(tmp_path: Path, name: str) -> None:
    BM25Search(DOCS, index_dir=tmp_path)
    damage(tmp_path / name if name == "manifest.json" else tmp_path / "bm25s" / name, "truncate")
    with pytest.raises(IndexCorruptError, match=re.escape(name)) as caught:
        BM25Search(DOCS, index_dir=tmp_path, rebuild_damaged=False)
    assert isinstance(caught.value, IndexMismatchError) and "rebuild" in str(caught.value)


def test_a_rebuilt_index_that_cannot_be_saved_is_used_from_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    BM25Search(DOCS, index_dir=tmp_path)
    damage(tmp_path / "bm25s" / "data.csc.index.npy", "flip")

    def read_only(self: BM25Search, folder: object) -> None:
        raise PermissionError(13, "Permission denied", str(folder))

    monkeypatch.setattr(BM25Search, "save", read_only)
    caplog.set_level(logging.WARNING)
    engine = BM25Search(DOCS, index_dir=tmp_path)
    assert engine.batch_search(QUERIES, k=4) == BM25Search(DOCS).batch_search(QUERIES, k=4)
    assert any("using it from memory" in record.getMessage() for record in caplog.records)


def test_a_mismatch_is_still_an_error_and_not_rebuilt(tmp_path: Path) -> None:
    """Another corpus or other settings are the caller's mistake, not damage: they are never silently rebuilt."""
    BM25Search(DOCS, index_dir=tmp_path)
    with pytest.raises(IndexMismatchError, match=r"settings\.k1") as caught:
        BM25Search(DOCS, k1=0.9, index_dir=tmp_path)
    assert not isinstance(caught.value, IndexCorruptError)


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
