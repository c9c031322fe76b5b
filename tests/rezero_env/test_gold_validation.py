"""Golds validated at load time (issue 26): a gold answer that normalises to nothing under the dataset's recommended
judge would make an empty answer correct, so loading it is an error naming ``file:line`` — or, with
``dataset_options={"empty_golds": "drop"}``, its question is dropped with a warning."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from rezero_env.data import DataFormatError, load_dataset
from rezero_env.rewards.judges import empty_gold

CORPUS = [{"id": "d1", "text": "The Velmora charter was signed in 1822."}]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def native(folder: Path, answers: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(folder / "corpus.jsonl", CORPUS)
    questions = [{"id": "q1", "question": "When?", "answers": ["1822"], "split": "train"}]
    questions.append({"id": "q2", "question": "Which?", "answers": answers, "split": "train"})
    questions.append({"id": "q3", "question": "Where?", "answers": ["Velmora"], "split": "test"})
    write_jsonl(folder / "questions.jsonl", questions)
    return folder


@pytest.mark.parametrize("gold", ["the", "The The", "a", "!!!", "-", "An"])
def test_a_native_gold_that_normalises_to_nothing_names_file_and_line(tmp_path: Path, gold: str) -> None:
    folder = native(tmp_path / "data", ["Velmora", gold])
    with pytest.raises(DataFormatError, match=r"questions.jsonl:2: field 'answers': item 1 .* normalises to nothing "
                       r"under the em_f1 judge"):  # fmt: skip
        load_dataset(str(folder))


def test_drop_option_drops_the_question_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = native(tmp_path / "data", ["The The"])
    with caplog.at_level(logging.WARNING):
        dataset = load_dataset(str(folder), {"empty_golds": "drop"})
    assert [task.id for task in dataset.tasks] == ["q1", "q3"]
    assert [t.id for t in dataset.split("train")] == ["q1"] and [t.id for t in dataset.split("test")] == ["q3"]
    assert "questions.jsonl:2" in caplog.text and "dropped" in caplog.text
    with pytest.raises(ValueError, match=r"empty_golds must be 'error' or 'drop'"):
        load_dataset(str(folder), {"empty_golds": "ignore"})


def test_rezero_format_golds_are_checked_under_contains(tmp_path: Path) -> None:
    folder = tmp_path / "rezero"
    folder.mkdir()
    (folder / "chunks.csv").write_text("chunk_id,content,metadata\n1,The charter was signed in 1822.,{}\n")
    good = {"id": "1", "question": "When?", "answer": "1822", "supporting_paragraphs": []}
    letter = {"id": "1", "question": "Which battery?", "answer": "A", "supporting_paragraphs": []}
    bad = {"id": "1", "question": "What?", "answer": "!!!", "supporting_paragraphs": []}
    write_jsonl(folder / "questions.jsonl", [good, letter, bad])
    with pytest.raises(DataFormatError, match=r"questions.jsonl:3: field 'answer' .* under the contains judge"):
        load_dataset(str(folder))
    write_jsonl(folder / "questions.jsonl", [good, letter])  # a one-letter gold is judged as a whole token
    assert [t.answers for t in load_dataset(str(folder)).tasks] == [("1822",), ("A",)]


def test_search_r1_golds_are_checked(tmp_path: Path) -> None:
    folder = tmp_path / "wiki"
    folder.mkdir()
    write_jsonl(folder / "corpus.jsonl", [{"id": "0", "contents": '"Velmora"\nThe charter was signed in 1822.'}])
    write_jsonl(
        folder / "questions.jsonl",
        [{"question": "When?", "golden_answers": ["1822"]}, {"question": "What?", "golden_answers": ["the", "a"]}],
    )
    with pytest.raises(DataFormatError, match=r"questions.jsonl:2: field 'golden_answers': item 0 .* nothing"):
        load_dataset(str(folder))
    assert len(load_dataset(str(folder), {"empty_golds": "drop"}).tasks) == 1


def test_every_gold_of_the_apollo_set_is_judgeable(apollo_dir: Path) -> None:
    dataset = load_dataset(str(apollo_dir))
    assert len(dataset.tasks) == 318
    assert all(empty_gold(answer, "contains") is None for task in dataset.tasks for answer in task.answers)


def test_empty_gold_says_why() -> None:
    assert empty_gold("The The", "em_f1") is not None and empty_gold("The The", "contains") is not None
    assert empty_gold("A", "em_f1") is not None and empty_gold("A", "contains") is None
    assert empty_gold("1822", "em_f1") is None and empty_gold("No", "contains") is None
