"""Bring-your-own corpus formats: Search-R1's (JSON Lines corpus, JSONL/parquet questions) and Hugging Face datasets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest

import rezero_env
from rezero_env.data import DataFormatError, load_dataset, train_test_indices

gym.register_envs(rezero_env)

CORPUS = [
    {"id": "0", "contents": '"Aurora (ship)"\nThe Aurora was a brig built in 1821 at Velmora.'},
    {"id": "1", "contents": '"Mira Kell"\nMira Kell captained the Aurora.\nShe retired in 1850.'},
    {"id": "2", "contents": "A passage with no title line."},
    {"id": 3, "contents": '"Velmora"\nVelmora is a harbour town on the river Osk.'},
]
QUESTIONS = [
    {"id": f"q{i}", "question": f"Question number {i}?", "golden_answers": [f"answer {i}", f"alias {i}"]}
    for i in range(12)
]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def write_parquet(path: Path, records: list[dict[str, Any]]) -> Path:
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    pq.write_table(pa.Table.from_pylist(records), path)
    return path


def search_r1_folder(folder: Path, questions: list[dict[str, Any]] = QUESTIONS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(folder / "corpus.jsonl", CORPUS)
    write_jsonl(folder / "questions.jsonl", questions)
    return folder


def test_search_r1_folder_splits_titles_and_keeps_answers(tmp_path: Path) -> None:
    questions = [*QUESTIONS[:-1], {"question": "Who captained the Aurora?", "golden_answers": "Mira Kell"}]
    dataset = load_dataset(search_r1_folder(tmp_path / "wiki", questions))
    assert dataset.name == "wiki"
    assert [(d.doc_id, d.title) for d in dataset.documents] == [
        ("0", "Aurora (ship)"),
        ("1", "Mira Kell"),
        ("2", None),
        ("3", "Velmora"),
    ]
    assert dataset.document("1").text == "Mira Kell captained the Aurora.\nShe retired in 1850."
    assert dataset.document("2").text == "A passage with no title line."
    assert dataset.tasks[0].answers == ("answer 0", "alias 0")
    assert dataset.tasks[-1].answers == ("Mira Kell",) and dataset.tasks[-1].id == "q-11"
    assert all(task.supporting_ids == () for task in dataset.tasks)
    assert dataset.splits["test"] == train_test_indices(12)["test"]


def test_search_r1_parquet_questions_and_split_column(tmp_path: Path) -> None:
    folder = tmp_path / "nq"
    folder.mkdir()
    write_jsonl(folder / "corpus.jsonl", CORPUS)
    rows = [{**q, "split": "dev" if i % 3 == 0 else "train", "data_source": "nq"} for i, q in enumerate(QUESTIONS)]
    write_parquet(folder / "questions.parquet", rows)
    dataset = load_dataset(folder)
    assert sorted(dataset.splits) == ["all", "dev", "train"]
    assert [t.id for t in dataset.split("dev")] == ["q0", "q3", "q6", "q9"]
    assert dataset.tasks[1].answers == ("answer 1", "alias 1") and dataset.tasks[1].meta == {"data_source": "nq"}


def test_search_r1_train_and_test_parquet_give_the_splits(tmp_path: Path) -> None:
    folder = tmp_path / "search-r1-layout"
    folder.mkdir()
    write_jsonl(folder / "corpus.jsonl", CORPUS)
    # Search-R1's processed parquet also carries prompt/reward_model columns; only the QA columns are read.
    extra = {"prompt": [{"role": "user", "content": "..."}], "reward_model": {"style": "rule"}}
    write_parquet(folder / "train.parquet", [{**q, **extra} for q in QUESTIONS[:8]])
    write_parquet(folder / "test.parquet", [{**q, **extra} for q in QUESTIONS[8:]])
    dataset = load_dataset(folder)
    assert [t.id for t in dataset.split("test")] == ["q8", "q9", "q10", "q11"]
    assert len(dataset.split("train")) == 8
    env = gym.make("SearchQA-v0", dataset=str(folder), split="test")
    assert env.unwrapped.tasks == dataset.split("test")  # type: ignore[attr-defined]
    env.close()


def test_search_r1_explicit_paths(tmp_path: Path) -> None:
    corpus = write_jsonl(tmp_path / "wiki-18.jsonl", CORPUS)
    questions = write_parquet(tmp_path / "nq_test.parquet", QUESTIONS)
    dataset = load_dataset("search-r1", {"corpus": str(corpus), "questions": questions})
    assert dataset.name == "wiki-18:nq_test" and len(dataset.documents) == 4 and len(dataset.tasks) == 12
    assert load_dataset("search-r1", {"corpus": corpus, "questions": str(questions)}) is dataset  # cached per process
    by_split = load_dataset("search-r1", {"corpus": str(corpus), "test": str(questions)})
    assert list(by_split.splits) == ["test", "all"]
    folder = search_r1_folder(tmp_path / "folder")
    replaced = load_dataset(folder, {"questions": str(questions)})
    assert len(replaced.tasks) == 12 and replaced.tasks[0].id == "q0"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"corpus": "c.jsonl", "questions": "q.jsonl", "colour": "blue"}, r"\['colour'\]; valid: \['corpus', 'quest"),
        ({"corpus": "c.jsonl"}, r"'search-r1' needs dataset_options=\{'corpus': PATH, 'questions': PATH\}"),
        ({"corpus": "c.jsonl", "questions": "q.jsonl", "test": "t.jsonl"}, "not both"),
    ],
)
def test_search_r1_bad_options(options: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_dataset("search-r1", options)


@pytest.mark.parametrize(
    ("corpus", "questions", "message"),
    [
        ([{"id": "0"}], QUESTIONS, r"corpus.jsonl:1: missing field 'contents' \(Search-R1\) or 'text'"),
        ([CORPUS[0], {"contents": "x"}], QUESTIONS, r"corpus.jsonl:2: missing field 'id'"),
        ([{"id": "0", "contents": 5}], QUESTIONS, r"corpus.jsonl:1: field 'contents' should be str"),
        (CORPUS, [QUESTIONS[0], {"question": "q?"}], r"questions.jsonl:2: missing field 'golden_answers'"),
        (CORPUS, [{"golden_answers": ["a"]}], r"questions.jsonl:1: missing field 'question'"),
        (CORPUS, [{"question": "q?", "golden_answers": []}], r"questions.jsonl:1: field 'golden_answers' is empty"),
        (
            CORPUS,
            [{"question": "q?", "golden_answers": {"a": 1}}],
            r"questions.jsonl:1: field 'golden_answers' should be a string or a list",
        ),
        (CORPUS, [QUESTIONS[0], QUESTIONS[0]], r"questions.jsonl:2: duplicate question id 'q0' \(first at .*:1\)"),
    ],
)
def test_bad_search_r1_jsonl_names_file_line_and_field(
    tmp_path: Path, corpus: list[dict[str, Any]], questions: list[dict[str, Any]], message: str
) -> None:
    write_jsonl(tmp_path / "corpus.jsonl", corpus)
    write_jsonl(tmp_path / "questions.jsonl", questions)
    with pytest.raises(DataFormatError, match=message):
        load_dataset("search-r1", {"corpus": tmp_path / "corpus.jsonl", "questions": tmp_path / "questions.jsonl"})


def test_bad_search_r1_parquet_names_file_row_and_field(tmp_path: Path) -> None:
    corpus = write_jsonl(tmp_path / "corpus.jsonl", CORPUS)
    no_column = write_parquet(tmp_path / "no_answers.parquet", [{"id": "a", "question": "q?"}])
    with pytest.raises(DataFormatError, match=r"no_answers.parquet: missing column\(s\) \['golden_answers'\]"):
        load_dataset("search-r1", {"corpus": corpus, "questions": no_column})
    rows = [QUESTIONS[0], {"id": "b", "question": None, "golden_answers": ["x"]}]
    null_row = write_parquet(tmp_path / "null.parquet", rows)
    with pytest.raises(DataFormatError, match=r"null.parquet: row 1: missing field 'question'"):
        load_dataset("search-r1", {"corpus": corpus, "questions": null_row})
    (tmp_path / "junk.parquet").write_text("not parquet")
    with pytest.raises(DataFormatError, match=r"junk.parquet: not a readable parquet file"):
        load_dataset("search-r1", {"corpus": corpus, "questions": tmp_path / "junk.parquet"})


def test_search_r1_folder_without_questions(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "corpus.jsonl", CORPUS)
    with pytest.raises(FileNotFoundError, match=r"needs a questions file; none of \['questions.jsonl'"):
        load_dataset(tmp_path)


def test_gym_make_on_a_search_r1_folder_searches_it(tmp_path: Path) -> None:
    questions = [{"id": "aurora", "question": "When was the Aurora built?", "golden_answers": ["1821"]}]
    questions += [{"id": f"x{i}", "question": f"Filler {i}?", "golden_answers": "x"} for i in range(9)]
    folder = search_r1_folder(tmp_path / "tiny-wiki", questions)
    env = gym.make("SearchQA-v0", dataset=str(folder), split="all", top_k=2)
    observation, _ = env.reset(seed=0, options={"task_id": "aurora"})
    assert "When was the Aurora built?" in observation
    observation, _, terminated, _, info = env.step("<search>Aurora brig built</search>")
    assert "The Aurora was a brig built in 1821" in observation and "Aurora (ship)" in observation
    assert info["searches"][-1]["doc_ids"][0] == "0" and not terminated
    _, _, terminated, _, info = env.step("<answer>1821</answer>")
    assert terminated and info["reward_terms"]["correctness"] > 0
    # no supporting documents: em_chunk's fallback pays because a retrieved document holds the gold answer "1821"
    assert info["reward_terms"]["em_chunk"] == 1.0
    assert info["reward_notes"]["em_chunk"].startswith("no supporting paragraph in this dataset")
    env.close()


# --- Hugging Face datasets --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hf() -> Any:
    return pytest.importorskip("datasets")


def test_hf_save_to_disk_with_custom_columns(tmp_path: Path, hf: Any) -> None:
    questions = hf.DatasetDict(
        {
            "train": hf.Dataset.from_dict(
                {"query": [f"Train question {i}?" for i in range(5)], "gold": [[f"a{i}", f"b{i}"] for i in range(5)]}
            ),
            "validation": hf.Dataset.from_dict({"query": ["Who captained the Aurora?"], "gold": [["Mira Kell"]]}),
        }
    )
    questions.save_to_disk(tmp_path / "qa")
    hf.Dataset.from_dict(
        {"pid": [1, 2], "body": ["The Aurora was built in 1821.", "Mira Kell captained it."], "head": ["Aurora", ""]}
    ).save_to_disk(tmp_path / "passages")
    options = {
        "question_column": "query",
        "answer_column": "gold",
        "corpus": str(tmp_path / "passages"),
        "id_column": "pid",
        "text_column": "body",
        "title_column": "head",
    }
    dataset = load_dataset(f"hf:{tmp_path / 'qa'}", options)
    assert dataset.name == "hf:qa"
    assert sorted(dataset.splits) == ["all", "train", "validation"]
    assert dataset.split("validation")[0].answers == ("Mira Kell",)
    assert dataset.split("train")[2].answers == ("a2", "b2") and dataset.split("train")[2].id == "train-2"
    assert [(d.doc_id, d.title) for d in dataset.documents] == [("1", "Aurora"), ("2", None)]
    only_train = load_dataset(f"hf:{tmp_path / 'qa'}", {**options, "split": "train"})
    assert len(only_train.tasks) == 5 and set(only_train.splits) == {"all", "train", "test"}  # seeded 10 % split


def test_hf_single_dataset_with_string_answers_and_search_r1_corpus(tmp_path: Path, hf: Any) -> None:
    hf.Dataset.from_dict(
        {"id": [f"n{i}" for i in range(10)], "question": [f"Q{i}?" for i in range(10)], "answer": ["x"] * 10}
    ).save_to_disk(tmp_path / "qa")
    corpus = write_jsonl(tmp_path / "wiki.jsonl", CORPUS)
    dataset = load_dataset(f"hf:{tmp_path / 'qa'}", {"corpus": str(corpus)})
    assert dataset.tasks[3].id == "n3" and dataset.tasks[3].answers == ("x",)
    assert dataset.document("0").title == "Aurora (ship)"
    assert dataset.splits["test"] == train_test_indices(10)["test"]
    hf.Dataset.from_list(CORPUS[:3]).save_to_disk(tmp_path / "wiki-hf")  # Search-R1 columns id/contents, as a dataset
    from_hf = load_dataset(f"hf:{tmp_path / 'qa'}", {"corpus": str(tmp_path / "wiki-hf")})
    assert [d.title for d in from_hf.documents] == ["Aurora (ship)", "Mira Kell", None]


def test_hf_missing_column_names_dataset_column_and_available_ones(tmp_path: Path, hf: Any) -> None:
    hf.Dataset.from_dict({"question": ["Q?"], "label": ["x"]}).save_to_disk(tmp_path / "qa")
    corpus = str(write_jsonl(tmp_path / "wiki.jsonl", CORPUS))
    source = f"hf:{tmp_path / 'qa'}"
    with pytest.raises(DataFormatError, match=r"qa' \(split 'data'\) has no column 'gold'; available: \['question', "):
        load_dataset(source, {"corpus": corpus, "answer_column": "gold"})
    with pytest.raises(DataFormatError, match=r"has no answer column .*available: \['question', 'label'\]"):
        load_dataset(source, {"corpus": corpus})
    hf.Dataset.from_dict({"id": ["d"], "body": ["t"]}).save_to_disk(tmp_path / "passages")
    with pytest.raises(
        DataFormatError, match=r"passages' \(split 'data'\) has no column 'text'; available: \['id', 'b"
    ):
        load_dataset(source, {"corpus": str(tmp_path / "passages"), "answer_column": "label"})


def test_hf_bad_options_and_sources(tmp_path: Path, hf: Any) -> None:
    hf.Dataset.from_dict({"question": ["Q?"], "answer": ["x"]}).save_to_disk(tmp_path / "qa")
    source = f"hf:{tmp_path / 'qa'}"
    with pytest.raises(ValueError, match=r"\['colour'\]; valid: \['corpus', "):
        load_dataset(source, {"corpus": "c.jsonl", "colour": "blue"})
    with pytest.raises(ValueError, match=r"needs dataset_options\['corpus'\]"):
        load_dataset(source)
    with pytest.raises(FileNotFoundError, match=r"no such file or folder 'missing.jsonl'"):
        load_dataset(source, {"corpus": "missing.jsonl"})
    with pytest.raises(FileNotFoundError, match=r"folder '/no/such/dir' does not exist"):
        load_dataset("hf:/no/such/dir", {"corpus": "c.jsonl"})


# --- Issue 14: ids, empty files, encodings in the Search-R1 and Hugging Face loaders ---------------------------------


@pytest.mark.parametrize(
    ("corpus", "questions", "message"),
    [
        (
            [*CORPUS, {"id": "1", "contents": "again"}],
            QUESTIONS,
            r"corpus.jsonl:5: duplicate document id '1' \(first at",
        ),
        (
            [{"id": True, "contents": "x"}],
            QUESTIONS,
            r"corpus.jsonl:1: field 'id' should be a string or an integer, got",
        ),
        ([{"id": " ", "contents": "x"}], QUESTIONS, r"corpus.jsonl:1: field 'id' is empty"),
        ([], QUESTIONS, r"corpus.jsonl: no documents"),
        (CORPUS, [], r"questions.jsonl: no questions"),
        (CORPUS, [{"id": "", "question": "q?", "golden_answers": ["a"]}], r"questions.jsonl:1: field 'id' is empty"),
    ],
)
def test_search_r1_ids_and_empty_files(
    tmp_path: Path, corpus: list[dict[str, Any]], questions: list[dict[str, Any]], message: str
) -> None:
    write_jsonl(tmp_path / "corpus.jsonl", corpus)
    write_jsonl(tmp_path / "questions.jsonl", questions)
    with pytest.raises(DataFormatError, match=message):
        load_dataset("search-r1", {"corpus": tmp_path / "corpus.jsonl", "questions": tmp_path / "questions.jsonl"})


def test_search_r1_non_utf8_corpus_names_file_and_line(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "corpus.jsonl", CORPUS)
    with (tmp_path / "corpus.jsonl").open("ab") as handle:
        handle.write(b'{"id": "9", "contents": "Stra\xdfe"}\n')
    write_jsonl(tmp_path / "questions.jsonl", QUESTIONS)
    with pytest.raises(DataFormatError, match=r"corpus.jsonl:5: not UTF-8 \(byte 0xdf at column 30\)"):
        load_dataset(tmp_path)


def test_hf_corpus_duplicate_ids_name_the_rows(tmp_path: Path, hf: Any) -> None:
    hf.Dataset.from_dict({"question": [f"Q{i}?" for i in range(3)], "answer": ["x"] * 3}).save_to_disk(tmp_path / "qa")
    hf.Dataset.from_dict({"id": ["d1", "d2", "d1"], "text": ["a", "b", "c"]}).save_to_disk(tmp_path / "passages")
    with pytest.raises(
        DataFormatError, match=r"passages' \(split 'data'\), row 2: duplicate document id 'd1' \(first at"
    ):
        load_dataset(f"hf:{tmp_path / 'qa'}", {"corpus": str(tmp_path / "passages")})
