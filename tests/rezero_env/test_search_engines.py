"""Engine variants users pick by name: dense (with its on-disk manifest), hybrid, noisy, cached; engine sharing
and batched searching in vector environments."""

from __future__ import annotations

import hashlib
import json
import logging
import random
import shutil
from collections.abc import Sequence
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import rezero_env
from rezero_env.data import load_dataset
from rezero_env.envs.search_qa import SearchQAEnv
from rezero_env.envs.vector import SearchQAVectorEnv
from rezero_env.search import engine_names, make_search_engine
from rezero_env.search.base import SearchError
from rezero_env.search.bm25 import BM25Search
from rezero_env.search.cached import CachedSearch
from rezero_env.search.dense import DenseSearch
from rezero_env.search.hybrid import HybridSearch
from rezero_env.search.manifest import IndexCorruptError, IndexMismatchError
from rezero_env.search.noisy import NoisySearch
from rezero_env.types import Document, SearchResult

gym.register_envs(rezero_env)

DOCS = [
    Document("tank", "The number two oxygen tank exploded 56 hours into the Apollo 13 mission.", "Oxygen tank"),
    Document("crew", "The crew used the lunar module as a lifeboat to return to Earth.", "Lifeboat"),
    Document("filter", "Astronauts built an adapter so square carbon dioxide filters fit round sockets."),
    Document("splash", "Apollo 13 splashed down in the Pacific Ocean on April 17, 1970."),
    Document("cats", "Cats sleep for most of the day and purr when content."),
    Document("bread", "Sourdough bread rises because of wild yeast and lactic acid bacteria."),
]


class CountingEngine:
    """BM25 that counts calls, to see batching and caching from outside."""

    def __init__(self, documents: Sequence[Document]) -> None:
        self.inner = BM25Search(documents)
        self.search_calls = 0
        self.batch_calls: list[int] = []

    def search(self, query: str, k: int) -> list[SearchResult]:
        self.search_calls += 1
        return self.inner.search(query, k)

    def batch_search(self, queries: Sequence[str], k: int) -> list[list[SearchResult]]:
        self.batch_calls.append(len(queries))
        return self.inner.batch_search(queries, k)


def ids(results: list[SearchResult]) -> list[str]:
    return [result.doc_id for result in results]


# --- dense -------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dense_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dense-index")
    DenseSearch(DOCS, index_dir=folder)
    return folder


def test_dense_ranks_by_meaning_and_batches_like_single_searches(dense_dir: Path) -> None:
    engine = DenseSearch(DOCS, index_dir=dense_dir)
    assert engine.search("What exploded on the spacecraft?", 1)[0].doc_id == "tank"
    assert engine.search("feline naps", 1)[0].doc_id == "cats"
    queries = ["What exploded on the spacecraft?", "feline naps", "how does bread rise", "When did they land?"]
    batched = engine.batch_search(queries, 3)
    assert [ids(r) for r in batched] == [ids(engine.search(q, 3)) for q in queries]
    assert all(len(r) == 3 for r in batched)
    scores = [r.score for r in batched[0]]
    assert scores == sorted(scores, reverse=True) and all(-1.0 <= s <= 1.0 + 1e-6 for s in scores)
    assert engine.batch_search([], 3) == [] and engine.search("x", 0) == []


def test_dense_index_is_saved_with_a_manifest_and_loaded_without_reencoding(
    dense_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = json.loads((dense_dir / "manifest.json").read_text())
    assert manifest["engine"] == "dense" and manifest["num_documents"] == len(DOCS)
    assert manifest["settings"]["encoder"] == "all-MiniLM-L6-v2" and manifest["settings"]["dimension"] == 384
    assert "faiss-cpu" in manifest["versions"] and len(manifest["corpus_fingerprint"]) == 64
    encoded: list[int] = []
    original = DenseSearch.encode
    monkeypatch.setattr(
        DenseSearch, "encode", lambda self, texts, **kw: encoded.append(len(texts)) or original(self, texts, **kw)
    )
    engine = DenseSearch(DOCS, index_dir=dense_dir)
    assert encoded == []  # loaded, nothing encoded
    engine.search("oxygen", 2)
    assert encoded == [1]


def test_dense_index_built_for_another_corpus_or_settings_is_refused(dense_dir: Path) -> None:
    with pytest.raises(IndexMismatchError, match=r"corpus_fingerprint.*num_documents|num_documents"):
        DenseSearch(DOCS[:-1], index_dir=dense_dir)
    changed = [*DOCS[:-1], Document("bread", "Rye bread is dense.")]
    with pytest.raises(IndexMismatchError, match="corpus_fingerprint") as error:
        DenseSearch(changed, index_dir=dense_dir)
    assert str(dense_dir) in str(error.value) and "rebuild" in str(error.value)
    with pytest.raises(IndexMismatchError, match=r"settings\.passage_prefix: index has '', requested 'passage: '"):
        DenseSearch(DOCS, index_dir=dense_dir, passage_prefix="passage: ")
    rebuilt_dir = dense_dir.parent / "rebuilt"
    DenseSearch(DOCS, index_dir=rebuilt_dir)
    DenseSearch(changed, index_dir=rebuilt_dir, rebuild=True)  # explicit rebuild overwrites
    assert DenseSearch(changed, index_dir=rebuilt_dir).search("rye", 1)[0].text == "Rye bread is dense."


def test_dense_approximate_indexes_and_bad_options(tmp_path: Path) -> None:
    for index_type in ("hnsw", "ivf"):
        engine = DenseSearch(DOCS, index_type=index_type, index_dir=False, nlist=2, nprobe=2)
        assert engine.search("oxygen tank explosion", 1)[0].doc_id == "tank"
    with pytest.raises(ValueError, match="index_type"):
        DenseSearch(DOCS, index_type="lsh", index_dir=False)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty corpus"):
        DenseSearch([], index_dir=False)
    with pytest.raises(ValueError, match=r"Cannot load the sentence-transformers encoder '.*no/such-model'.*not found"):
        DenseSearch(DOCS, encoder=str(tmp_path / "no/such-model"), index_dir=False)


# --- dense: a damaged index is detected and rebuilt -------------------------------------------------------------

DENSE_QUERIES = ["What exploded on the spacecraft?", "feline naps", "how does bread rise", "When did they land?"]


def write_faiss(path: Path, engine: DenseSearch, documents: Sequence[Document]) -> None:
    """A valid flat index of ``documents`` (a wrong one, when they are not the engine's) at ``path``."""
    import faiss

    index = faiss.IndexFlatIP(engine.dimension)
    index.add(engine.encode([f"{d.title}\n{d.text}" if d.title else d.text for d in documents]))
    faiss.write_index(index, str(path))


def damage_faiss(folder: Path, how: str, engine: DenseSearch) -> None:
    path = folder / "index.faiss"
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif how == "random":
        path.write_bytes(random.Random(0).randbytes(len(data)))
    elif how == "flip":  # the exponent of one float of the last vector: the index still loads
        at = len(data) - 1
        path.write_bytes(data[:at] + bytes([data[at] ^ 0x40]))
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "fewer":
        write_faiss(path, engine, DOCS[:-2])
    elif how == "more":
        write_faiss(path, engine, [*DOCS, Document("rye", "Rye bread is dense.")])
    else:
        raise AssertionError(how)


def dense_rebuild_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "rebuilding" in r.getMessage()]


def test_dense_manifest_records_the_index_size_checksum_and_vector_count(dense_dir: Path) -> None:
    manifest = json.loads((dense_dir / "manifest.json").read_text())
    data = (dense_dir / "index.faiss").read_bytes()
    assert manifest["num_vectors"] == len(DOCS)
    assert manifest["files"] == {"index.faiss": {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}}


@pytest.mark.parametrize("how", ["truncate", "random", "flip", "empty", "fewer", "more"])
def test_a_damaged_dense_index_is_rebuilt_with_a_warning(
    dense_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    reference = DenseSearch(DOCS, index_dir=dense_dir)
    expected = reference.batch_search(DENSE_QUERIES, len(DOCS))
    folder = tmp_path / "idx"
    shutil.copytree(dense_dir, folder)
    damage_faiss(folder, how, reference)
    caplog.set_level(logging.WARNING)
    repaired = DenseSearch(DOCS, index_dir=folder)
    assert [ids(r) for r in repaired.batch_search(DENSE_QUERIES, len(DOCS))] == [ids(r) for r in expected]
    (warning,) = dense_rebuild_warnings(caplog)
    assert "index.faiss" in warning and str(folder) in warning
    caplog.clear()
    DenseSearch(DOCS, index_dir=folder)  # the rebuilt index was saved: it loads without a warning
    assert dense_rebuild_warnings(caplog) == []


@pytest.mark.parametrize("how", ["fewer", "more", "truncate"])
def test_an_old_dense_manifest_without_checksums_still_catches_a_wrong_index(
    dense_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    folder = tmp_path / "idx"
    shutil.copytree(dense_dir, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    old = {key: value for key, value in manifest.items() if key not in ("files", "num_vectors", "manifest_sha256")}
    (folder / "manifest.json").write_text(json.dumps({**old, "manifest_version": 1}))
    caplog.set_level(logging.WARNING)
    DenseSearch(DOCS, index_dir=folder)  # unverified, but it passes the checks: loaded
    assert any("no checksums" in r.getMessage() for r in caplog.records) and dense_rebuild_warnings(caplog) == []
    engine = DenseSearch(DOCS, index_dir=folder, rebuild=True)
    (folder / "manifest.json").write_text(json.dumps({**old, "manifest_version": 1}))
    damage_faiss(folder, how, engine)
    caplog.clear()
    repaired = DenseSearch(DOCS, index_dir=folder)
    assert repaired.search("feline naps", len(DOCS))[0].doc_id == "cats" and len(dense_rebuild_warnings(caplog)) == 1


def test_without_rebuilding_a_damaged_dense_index_is_an_error_naming_the_file(dense_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "idx"
    shutil.copytree(dense_dir, folder)
    damage_faiss(folder, "more", DenseSearch(DOCS, index_dir=dense_dir))
    with pytest.raises(IndexCorruptError, match=r"index\.faiss") as caught:
        DenseSearch(DOCS, index_dir=folder, rebuild_damaged=False)
    assert str(folder) in str(caught.value)


# --- hybrid ------------------------------------------------------------------------------------------------------


def test_hybrid_fuses_ranks_by_weighted_rrf() -> None:
    class Fixed:
        def __init__(self, order: list[str]) -> None:
            self.order = order

        def search(self, query: str, k: int) -> list[SearchResult]:
            return [SearchResult(d, d, 1.0) for d in self.order[:k]]

        def batch_search(self, queries: Sequence[str], k: int) -> list[list[SearchResult]]:
            return [self.search(q, k) for q in queries]

    hybrid = HybridSearch([Fixed(["a", "b", "c"]), Fixed(["c", "a"])], weights=[1.0, 2.0], fusion="rrf", rrf_k=0)
    results = hybrid.search("q", 3)
    # a: 1/1 + 2/2 = 2.0; c: 1/3 + 2/1 = 2.333; b: 1/2
    assert ids(results) == ["c", "a", "b"]
    assert [round(r.score, 3) for r in results] == [2.333, 2.0, 0.5]
    with pytest.raises(ValueError, match="2 engines but 1 weights"):
        HybridSearch([Fixed([]), Fixed([])], weights=[1.0])
    with pytest.raises(ValueError, match="at least one > 0"):
        HybridSearch([Fixed([])], weights=[0.0])
    # rrf_k has an effect only with reciprocal-rank fusion: with the default relative fusion it is refused
    with pytest.raises(ValueError, match=r"rrf_k=60 only applies to reciprocal-rank fusion: pass fusion='rrf'"):
        HybridSearch([Fixed(["a"])], rrf_k=60)
    with pytest.raises(ValueError, match="rrf_k=10 only applies"):
        make_search_engine("hybrid", [Document("a", "Aurora")], {"engines": ["bm25", "dense"], "rrf_k": 10})
    default_rrf = HybridSearch([Fixed(["a", "b"])], fusion="rrf")
    assert default_rrf.rrf_k == 60.0 and [round(r.score, 5) for r in default_rrf.search("q", 2)] == [0.01639, 0.01613]


def test_hybrid_relative_fusion_sums_min_max_normalised_scores() -> None:
    class Scored:
        def __init__(self, scored: list[tuple[str, float]]) -> None:
            self.scored = scored

        def search(self, query: str, k: int) -> list[SearchResult]:
            return [SearchResult(d, d, s) for d, s in self.scored[:k]]

        def batch_search(self, queries: Sequence[str], k: int) -> list[list[SearchResult]]:
            return [self.search(q, k) for q in queries]

    bm25 = Scored([("a", 12.0), ("b", 11.0), ("c", 2.0)])  # normalised: a 1, b 0.9, c 0
    dense = Scored([("c", 0.9), ("b", 0.5), ("d", 0.4)])  # normalised: c 1, b 0.2, d 0
    results = HybridSearch([bm25, dense]).search("q", 4)
    assert ids(results) == ["b", "a", "c", "d"]
    assert [round(r.score, 3) for r in results] == [1.1, 1.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="fusion must be"):
        HybridSearch([bm25], fusion="max")  # type: ignore[arg-type]


def test_hybrid_by_name_shares_sub_engines_with_the_env(dense_dir: Path) -> None:
    dataset = load_dataset(
        "synthetic",
        {
            "n_places": 10,
            "n_organisations": 10,
            "n_people": 20,
            "n_twins": 4,
            "n_artefacts": 10,
            "n_single_hop": 10,
            "n_two_hop": 5,
            "n_distractor": 5,
        },
    )
    options = {"engine_options": [None, {"index_dir": str(dense_dir.parent / "synthetic-small")}]}
    env = SearchQAEnv(dataset=dataset, search_engine="hybrid", search_options=options)
    assert isinstance(env.engine, HybridSearch)
    bm25, dense = env.engine.engines
    twin = SearchQAEnv(dataset=dataset, search_engine="dense", search_options=options["engine_options"][1])
    assert twin.engine is dense  # the dense index is built once and shared
    assert SearchQAEnv(dataset=dataset, search_engine="bm25").engine is bm25


# --- noisy -------------------------------------------------------------------------------------------------------


def test_noisy_engine_noise_kinds() -> None:
    base = BM25Search(DOCS)
    assert NoisySearch(base, drop_prob=1.0).search("Apollo 13", 5) == []
    clean = base.search("Apollo 13 oxygen crew", 2)
    assert len(base.search("Apollo 13 oxygen crew", 5)) > 2  # candidates below the top 2 exist
    with_distractor = NoisySearch(base, distractor_prob=1.0, num_distractors=1).search("Apollo 13 oxygen crew", 2)
    assert len(with_distractor) == 2 and set(ids(with_distractor)) - set(ids(clean))
    cut = NoisySearch(base, truncate_prob=1.0, truncate_chars=10).search("oxygen tank", 1)[0]
    assert cut.text == "The number…" and cut.doc_id == "tank"
    shuffled = [ids(NoisySearch(base, shuffle_prob=1.0, seed=s).search("Apollo 13 mission", 3)) for s in range(8)]
    assert len({tuple(order) for order in shuffled}) > 1 and all(sorted(o) == sorted(shuffled[0]) for o in shuffled)
    with pytest.raises(ValueError, match=r"drop_prob must be in \[0, 1\]"):
        NoisySearch(base, drop_prob=1.5)
    with pytest.raises(ValueError, match="needs paraphrases="):
        NoisySearch(base, distractors="paraphrases")


def test_noisy_paraphrase_distractors_from_a_rezero_style_csv(tmp_path: Path) -> None:
    csv = tmp_path / "paragraphs_noise.csv"
    csv.write_text('chunk_id,original_paragraph,paraphrased_text\ntank,x,"A tank of oxygen blew up, reportedly."\n')
    noisy = NoisySearch(BM25Search(DOCS), distractor_prob=1.0, distractors="paraphrases", paraphrases=csv)
    results = noisy.search("oxygen tank", 2)
    assert "tank~paraphrase-0" in ids(results)
    assert next(r.text for r in results if r.doc_id == "tank~paraphrase-0") == "A tank of oxygen blew up, reportedly."
    with pytest.raises(Exception, match="paraphrased"):
        NoisySearch(BM25Search(DOCS), paraphrases=csv, paraphrase_text_column="paraphrased")


def run_episode(env: gym.Env[str, str], seed: int, queries: list[str]) -> list[str]:
    observation, _ = env.reset(seed=seed)
    observations = [observation]
    for query in queries:
        observation, *_ = env.step(f"<search>{query}</search>")
        observations.append(observation)
    return observations


def test_noisy_env_is_seeded_by_reset_and_registered() -> None:
    queries = ["Velmora", "who founded", "born in", "capital of", "Amber Astrolabe"]
    first = run_episode(gym.make("SearchQA-Noisy-v0"), 3, queries)
    again = run_episode(gym.make("SearchQA-Noisy-v0"), 3, queries)
    other = run_episode(gym.make("SearchQA-Noisy-v0"), 4, queries)
    clean = run_episode(gym.make("SearchQA-v0"), 3, queries)
    assert first == again
    assert first[1:] != other[1:] or first[0] != other[0]
    assert first[0] == clean[0] and first[1:] != clean[1:]  # same task, noisier results
    env_a, env_b = gym.make("SearchQA-Noisy-v0"), gym.make("SearchQA-Noisy-v0")
    assert env_a.unwrapped.engine is not env_b.unwrapped.engine  # type: ignore[attr-defined]
    assert env_a.unwrapped.engine.base is env_b.unwrapped.engine.base  # type: ignore[attr-defined]


# --- cached ------------------------------------------------------------------------------------------------------


def test_cache_hit_returns_identical_results_without_asking_the_engine(tmp_path: Path) -> None:
    counting = CountingEngine(DOCS)
    cached = CachedSearch(counting, maxsize=2, cache_dir=tmp_path)
    first = cached.search("oxygen tank", 3)
    assert cached.search("oxygen tank", 3) == first and counting.batch_calls == [1]
    assert cached.batch_search(["oxygen tank", "cats", "cats", "bread"], 3)[0] == first
    assert counting.batch_calls == [1, 2]  # only the two distinct misses
    assert (cached.hits, cached.misses) == (3, 3)
    reopened = CachedSearch(CountingEngine(DOCS), cache_dir=tmp_path)
    assert reopened.search("oxygen tank", 3) == first and reopened.base.batch_calls == []  # type: ignore[attr-defined]
    reopened.search("oxygen tank", 2)
    assert reopened.base.batch_calls == [1]  # type: ignore[attr-defined]  # k is part of the key


def test_cache_does_not_keep_failures() -> None:
    class Flaky(CountingEngine):
        def batch_search(self, queries: Sequence[str], k: int) -> list[list[SearchResult]]:
            super().batch_search(queries, k)
            if len(self.batch_calls) == 1:
                raise SearchError("temporarily down")
            return self.inner.batch_search(queries, k)

    flaky = Flaky(DOCS)
    cached = CachedSearch(flaky)
    with pytest.raises(SearchError):
        cached.search("cats", 1)
    assert ids(cached.search("cats", 1)) == ["cats"] and len(flaky.batch_calls) == 2


# --- selection, sharing, batching --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bm25", "dense", "hybrid", "noisy", "cached"])
def test_every_local_engine_works_through_gym_make_on_the_embedded_data(name: str) -> None:
    env = gym.make("SearchQA-v0", search_engine=name)
    env.reset(seed=0)
    task = env.unwrapped.task  # type: ignore[attr-defined]
    observation, _, terminated, truncated, info = env.step(f"<search>{task.question}</search>")
    assert observation.startswith("<information>") and "Search failed" not in observation
    assert not (terminated or truncated) and len(info["searches"][0]["doc_ids"]) >= 1


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("web", {"api_key": "k", "base_url": "http://127.0.0.1:9", "max_retries": 0, "timeout": 1}),
        ("remote", {"url": "http://127.0.0.1:9/retrieve", "max_retries": 0, "timeout": 1}),
    ],
)
def test_network_engines_by_name_turn_faults_into_observations(name: str, options: dict[str, object]) -> None:
    env = gym.make("SearchQA-v0", search_engine=name, search_options=options)
    env.reset(seed=0)
    observation, _, terminated, truncated, info = env.step("<search>apollo</search>")
    assert "Search failed" in observation and not (terminated or truncated)
    assert info["searches"][0]["error"]


def test_bad_engine_names_and_options_are_clear_errors() -> None:
    assert engine_names() == ["bm25", "cached", "dense", "hybrid", "noisy", "remote", "web"]
    with pytest.raises(ValueError, match="Unknown search_engine 'bing'; choose one of"):
        gym.make("SearchQA-v0", search_engine="bing")
    with pytest.raises(ValueError, match=r"Bad search_options for 'noisy': unknown \['drop'\]; valid options are"):
        gym.make("SearchQA-v0", search_engine="noisy", search_options={"drop": 0.5})
    with pytest.raises(ValueError, match=r"Bad search_options for 'bm25': unknown \['k'\]"):
        make_search_engine("bm25", DOCS, {"k": 3})


def test_vector_env_sends_one_batch_per_step_and_matches_sync() -> None:
    engine = CountingEngine(load_dataset("synthetic").documents)
    envs = gym.make_vec("SearchQA-v0", num_envs=4, search_engine=engine)
    assert isinstance(envs, SearchQAVectorEnv)
    sync = gym.make_vec("SearchQA-v0", num_envs=4, vectorization_mode="sync")
    observations, _ = envs.reset(seed=1)
    assert observations == sync.reset(seed=1)[0]
    actions = ("<search>Velmora</search>", "<search>born</search>", "<answer>x</answer>", "<search>Velmora</search>")
    for _ in range(2):
        batched = envs.step(actions)
        expected = sync.step(actions)
        assert batched[0] == expected[0]
        np.testing.assert_array_equal(batched[1], expected[1])
        np.testing.assert_array_equal(batched[2], expected[2])
    # one batch per step with the distinct queries; the env that answered (then autoreset) sends nothing
    assert engine.batch_calls == [2, 2] and engine.search_calls == 0
