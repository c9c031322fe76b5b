"""Datasets: the synthetic world, ReZero's format, rezero's JSONL format, text folders and name resolution."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import gymnasium as gym
import pytest

from rezero_env.data import DataFormatError, load_dataset, train_test_indices
from rezero_env.data.native import load_native, write_native
from rezero_env.data.rezero_format import load_rezero
from rezero_env.data.synthetic import WorldConfig, default_world, generate_world
from rezero_env.data.text_folder import chunk_text, load_text_folder
from rezero_env.rewards.judge import normalize_answer
from tests.conftest import REPO_ROOT

SMALL = WorldConfig(
    seed=5,
    n_places=12,
    n_organisations=10,
    n_people=40,
    n_twins=8,
    n_artefacts=15,
    n_single_hop=30,
    n_two_hop=30,
    n_distractor=10,
)


def test_synthetic_world_is_deterministic_per_seed() -> None:
    first, second = generate_world(SMALL), generate_world(SMALL)
    assert first.documents == second.documents and first.tasks == second.tasks and first.splits == second.splits
    other = generate_world(WorldConfig(**{**SMALL.__dict__, "seed": 6}))
    assert other.documents != first.documents


def test_default_world_shape() -> None:
    world = default_world()
    assert 2000 <= len(world.documents) <= 5000
    levels = collections.Counter(task.meta["level"] for task in world.tasks)
    assert levels == {"single-hop": 700, "two-hop": 600, "distractor": 300}
    assert len(world.split("test")) == 160 and len(world.split("train")) == 1440
    assert not set(world.splits["train"]) & set(world.splits["test"])


def test_every_answer_is_in_its_last_supporting_paragraph() -> None:
    world = default_world()
    for task in world.tasks:
        assert task.answers[0] in world.document(task.supporting_ids[-1]).text, task
    two_hop = [task for task in world.tasks if task.meta["level"] == "two-hop"]
    assert all(len(task.supporting_ids) == 2 and len(set(task.supporting_ids)) == 2 for task in two_hop)


def test_distractor_questions_have_a_near_twin_in_the_corpus() -> None:
    world = default_world()
    titles = {doc.title for doc in world.documents if doc.title}
    for task in (t for t in world.tasks if t.meta["level"] == "distractor"):
        name = world.document(task.supporting_ids[-1]).title
        assert name is not None
        twins = [t for t in titles if t != name and abs(len(t) - len(name)) <= 1 and _one_edit_apart(t, name)]
        assert twins, name


def _one_edit_apart(a: str, b: str) -> bool:
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


def test_questions_are_unique_and_answers_not_trivial() -> None:
    world = default_world()
    assert len({task.question for task in world.tasks}) == len(world.tasks)
    assert all(normalize_answer(task.answers[0]) for task in world.tasks)


def test_committed_default_data_matches_the_generator() -> None:
    committed = load_native(REPO_ROOT / "data" / "synthetic-world")
    world = default_world()
    assert committed.documents == world.documents
    assert committed.tasks == world.tasks
    assert {k: set(v) for k, v in committed.splits.items()} == {k: set(v) for k, v in world.splits.items()}


def test_native_round_trip(tmp_path: Path) -> None:
    world = generate_world(SMALL)
    write_native(world, tmp_path)
    loaded = load_dataset(tmp_path)
    assert loaded.documents == world.documents and loaded.tasks == world.tasks


def test_split_matches_datasets_train_test_split() -> None:
    datasets = pytest.importorskip("datasets")
    for n in (10, 318, 1600):
        ours = train_test_indices(n, test_size=0.1, seed=42)
        theirs = datasets.Dataset.from_dict({"i": list(range(n))}).train_test_split(test_size=0.1, seed=42)
        assert list(ours["train"]) == theirs["train"]["i"]
        assert list(ours["test"]) == theirs["test"]["i"]
    assert train_test_indices(1) == {}


def test_rezero_apollo_loads_with_rezero_split(apollo_dir: Path) -> None:
    dataset = load_rezero(apollo_dir)
    assert len(dataset.documents) == 341 and len(dataset.tasks) == 318
    assert len(dataset.split("train")) == 286 and len(dataset.split("test")) == 32
    lines = [json.loads(line) for line in (apollo_dir / "questions.jsonl").read_text().splitlines()]
    first_test = lines[dataset.splits["test"][0]]
    assert dataset.split("test")[0].question == first_test["question"]
    for task in dataset.tasks:
        chunk = dataset.document(task.supporting_ids[0]).text
        assert all(paragraph in chunk for paragraph in task.meta["supporting_paragraphs"])


def test_rezero_apollo_by_name(apollo_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REZERO_DATA_DIR", str(apollo_dir.parent))
    assert len(load_dataset("rezero-apollo").tasks) == 318


def test_chunk_text_packs_paragraphs_and_tracks_headings() -> None:
    text = "# Title\n\nOne.\n\nTwo.\n\n## Part B\n\n" + "word " * 50
    chunks = chunk_text(text, max_chars=60)
    assert chunks[0] == ("Title", "# Title\n\nOne.\n\nTwo.")
    assert all(len(chunk) <= 60 for _, chunk in chunks)
    assert chunks[-1][0] == "Part B"
    assert " ".join(chunk for _, chunk in chunks[1:]).split() == ["##", "Part", "B", *["word"] * 50]


def test_text_folder_dataset(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "ships.md").write_text("# Ships\n\nThe Aurora was built in 1821.\n\nIt sank in 1850.\n")
    (tmp_path / "people.txt").write_text("Mira Kell captained the Aurora.")
    questions = [
        {"question": "When was the Aurora built?", "answer": "1821", "supporting_paragraphs": ["built in 1821"]},
        {"question": "Who captained the Aurora?", "answers": ["Mira Kell"], "supporting_ids": ["people.txt#0"]},
    ]
    (tmp_path / "questions.jsonl").write_text("\n".join(json.dumps(q) for q in questions))
    dataset = load_text_folder(tmp_path)
    assert [doc.doc_id for doc in dataset.documents] == ["notes/ships.md#0", "people.txt#0"]
    assert dataset.tasks[0].supporting_ids == ("notes/ships.md#0",)
    assert dataset.documents[0].title == "Ships"
    assert set(dataset.splits) == {"all", "train", "test"}


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("questions", "message"),
    [
        (['{"question": "q", "answers": ["a"]}', "{not json"], r"questions.jsonl:2: not valid JSON"),
        (['{"answers": ["a"]}'], r"questions.jsonl:1: missing field 'question'"),
        (['{"question": "q"}'], r"questions.jsonl:1: missing field 'answers'"),
        (['{"question": "q", "answers": []}'], r"questions.jsonl:1: field 'answers' is empty"),
        (['{"question": "q", "answers": 3}'], r"questions.jsonl:1: field 'answers' should be list or str"),
        (['["a list"]'], r"questions.jsonl:1: expected a JSON object"),
    ],
)
def test_bad_native_files_name_file_line_and_field(tmp_path: Path, questions: list[str], message: str) -> None:
    write_lines(tmp_path / "corpus.jsonl", ['{"id": "d1", "text": "hello"}'])
    write_lines(tmp_path / "questions.jsonl", questions)
    with pytest.raises(DataFormatError, match=message):
        load_native(tmp_path)


def test_unknown_supporting_id_is_reported(tmp_path: Path) -> None:
    write_lines(tmp_path / "corpus.jsonl", ['{"id": "d1", "text": "hello"}'])
    write_lines(
        tmp_path / "questions.jsonl", ['{"id": "q", "question": "q", "answers": ["a"], "supporting_ids": ["d9"]}']
    )
    with pytest.raises(DataFormatError, match=r"questions.jsonl:1: field 'supporting_ids': 'd9' is not a document id"):
        load_native(tmp_path)
    from rezero_env.data.dataset import QADataset
    from rezero_env.types import Document, Task

    with pytest.raises(ValueError, match=r"task 'q' cites unknown document ids \['d9'\]"):  # a dataset built in code
        QADataset("x", (Document("d1", "hello"),), (Task("q", "q?", ("a",), ("d9",)),))


def test_bad_rezero_files(tmp_path: Path) -> None:
    write_lines(tmp_path / "chunks.csv", ["chunk,content", "1,hello"])
    write_lines(tmp_path / "questions.jsonl", [])
    with pytest.raises(DataFormatError, match=r"chunks.csv:1: header lacks the column\(s\) \['chunk_id'\]"):
        load_rezero(tmp_path)


def test_load_dataset_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no-such-dataset"):
        load_dataset("no-such-dataset")
    with pytest.raises(DataFormatError, match="not a dataset folder"):
        load_dataset(tmp_path)
    with pytest.raises(ValueError, match="Bad dataset_options"):
        load_dataset("synthetic", {"n_people": 50, "colour": "blue"})
    write_lines(tmp_path / "corpus.jsonl", [])
    write_lines(tmp_path / "questions.jsonl", ['{"question": "q", "answers": ["a"]}'])
    with pytest.raises(DataFormatError, match=r"corpus.jsonl: no documents \(dataset folder "):
        load_dataset(tmp_path)
    from rezero_env.data.dataset import QADataset
    from rezero_env.types import Task

    empty_corpus = QADataset("empty", (), (Task("q0", "q", ("a",)),))  # built in code: the engine refuses it
    with pytest.raises(ValueError, match="empty corpus"):
        gym.make("SearchQA-v0", dataset=empty_corpus, split="all")
    with pytest.raises(ValueError, match="has no split 'train'"):  # one question cannot be split
        gym.make("SearchQA-v0", dataset=empty_corpus)


def test_synthetic_options_build_another_world() -> None:
    small = load_dataset(
        "synthetic",
        {
            "seed": 5,
            "n_places": 12,
            "n_organisations": 10,
            "n_people": 40,
            "n_twins": 8,
            "n_artefacts": 15,
            "n_single_hop": 30,
            "n_two_hop": 30,
            "n_distractor": 10,
        },
    )
    assert len(small.tasks) == 70


# --- Issue 14: encodings (item 8), garbage fields (item 9), ids, empty files, nesting (item 10) ---------------------

GOOD_CORPUS = ['{"id": "d1", "text": "hello"}', '{"id": "d2", "title": "Two", "text": "world"}']
GOOD_QUESTION = '{"id": "q1", "question": "q?", "answers": ["hello"], "supporting_ids": ["d1"]}'


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("file", "data", "message"),
    [
        (
            "corpus.jsonl",
            b'{"id": "d1", "text": "ok"}\n{"id": "d2", "text": "caf\xe9"}\n',
            r"corpus.jsonl:2: not UTF-8",
        ),
        (
            "questions.jsonl",
            f"{GOOD_QUESTION}\n\n".encode() + b'{"question": "\xff"}\n',
            r"questions.jsonl:3: not UTF-8",
        ),
        ("questions.jsonl", f"{GOOD_QUESTION}\n".encode("utf-16"), r"questions.jsonl: UTF-16 text \(byte-order mark\)"),
        ("corpus.jsonl", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", r"corpus.jsonl:1: not UTF-8"),
    ],
)
def test_non_utf8_native_files_name_file_and_line(tmp_path: Path, file: str, data: bytes, message: str) -> None:
    write_lines(tmp_path / "corpus.jsonl", GOOD_CORPUS)
    write_lines(tmp_path / "questions.jsonl", [GOOD_QUESTION])
    write_bytes(tmp_path / file, data)
    with pytest.raises(DataFormatError, match=message):
        load_native(tmp_path)


def test_non_utf8_rezero_and_text_files_name_file_and_line(tmp_path: Path) -> None:
    rezero = tmp_path / "rezero"
    rezero.mkdir()
    write_bytes(rezero / "chunks.csv", b"chunk_id,content\n1,hello\n2,caf\xe9 au lait\n")
    write_lines(
        rezero / "questions.jsonl", ['{"id": "1", "question": "q?", "answer": "a", "supporting_paragraphs": []}']
    )
    with pytest.raises(DataFormatError, match=r"chunks.csv:3: not UTF-8 \(byte 0xe9 at column 6\)"):
        load_rezero(rezero)
    notes = tmp_path / "notes"
    notes.mkdir()
    write_bytes(notes / "a.md", b"# Title\n\nfine\n\n\x93quoted\x94 in cp1252\n")
    write_lines(notes / "questions.jsonl", ['{"question": "q?", "answer": "a"}'])
    with pytest.raises(DataFormatError, match=r"a.md:5: not UTF-8 \(byte 0x93 at column 1\)"):
        load_text_folder(notes)
    write_bytes(notes / "a.md", "# Title\n".encode("utf-16"))
    with pytest.raises(DataFormatError, match=r"a.md: UTF-16 text \(byte-order mark\); save it as UTF-8"):
        load_text_folder(notes)


def test_utf8_with_byte_order_mark_loads(tmp_path: Path) -> None:
    write_bytes(tmp_path / "corpus.jsonl", "\n".join(GOOD_CORPUS).encode("utf-8-sig"))
    write_bytes(tmp_path / "questions.jsonl", GOOD_QUESTION.encode("utf-8-sig"))
    assert [doc.doc_id for doc in load_native(tmp_path).documents] == ["d1", "d2"]
    rezero = tmp_path / "rezero"
    rezero.mkdir()
    write_bytes(rezero / "chunks.csv", "chunk_id,content\n1,hello\n".encode("utf-8-sig"))  # as Excel saves it
    write_lines(
        rezero / "questions.jsonl", ['{"id": "1", "question": "q?", "answer": "a", "supporting_paragraphs": []}']
    )
    assert load_rezero(rezero).documents[0].doc_id == "1"


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ('{"question": "q?", "answers": [""]}', r"questions.jsonl:1: field 'answers': item 0 is empty"),
        ('{"question": "q?", "answers": ["a", "   "]}', r"questions.jsonl:1: field 'answers': item 1 is empty"),
        (
            '{"question": "q?", "answers": [true]}',
            r"questions.jsonl:1: field 'answers': item 0 should be a string, got ",
        ),
        (
            '{"question": "q?", "answers": [NaN]}',
            r"questions.jsonl:1: field 'answers': item 0 should be a string, got f",
        ),
        (
            '{"question": "q?", "answers": [1821]}',
            r"field 'answers': item 0 should be a string, got int \(write \"1821\"",
        ),
        ('{"question": "q?", "answer": " "}', r"questions.jsonl:1: field 'answer' is empty"),
        ('{"id": [1, 2], "question": "q?", "answers": ["a"]}', r"questions.jsonl:1: field 'id' should be a string or "),
        ('{"id": null, "question": "q?", "answers": ["a"]}', r"questions.jsonl:1: field 'id' should be a string or an"),
        ('{"id": true, "question": "q?", "answers": ["a"]}', r"questions.jsonl:1: field 'id' should be .*, got bool"),
        ('{"id": " ", "question": "q?", "answers": ["a"]}', r"questions.jsonl:1: field 'id' is empty"),
        ('{"question": "q?", "answers": ["a"], "supporting_ids": [true]}', r"field 'supporting_ids': item 0 should be"),
        ('{"question": "q?", "answers": ["a"], "split": ""}', r"questions.jsonl:1: field 'split' is empty"),
    ],
)
def test_garbage_question_fields_are_rejected(tmp_path: Path, question: str, message: str) -> None:
    write_lines(tmp_path / "corpus.jsonl", GOOD_CORPUS)
    write_lines(tmp_path / "questions.jsonl", [question])
    with pytest.raises(DataFormatError, match=message):
        load_native(tmp_path)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ('{"id": true, "text": "x"}', r"corpus.jsonl:2: field 'id' should be a string or an integer, got bool"),
        ('{"id": null, "text": "x"}', r"corpus.jsonl:2: field 'id' should be a string or an integer, got null"),
        ('{"id": "", "text": "x"}', r"corpus.jsonl:2: field 'id' is empty"),
        (
            '{"id": "d3", "title": {"a": 1}, "text": "x"}',
            r"corpus.jsonl:2: field 'title' should be a string or null, got ",
        ),
        ('{"id": "d3", "title": "  ", "text": "x"}', r"corpus.jsonl:2: field 'title' is empty \(omit it or use null"),
        ('{"id": "d3", "title": 7, "text": "x"}', r"corpus.jsonl:2: field 'title' should be a string or null, got int"),
    ],
)
def test_garbage_document_fields_are_rejected(tmp_path: Path, document: str, message: str) -> None:
    write_lines(tmp_path / "corpus.jsonl", [GOOD_CORPUS[0], document])
    write_lines(tmp_path / "questions.jsonl", [GOOD_QUESTION])
    with pytest.raises(DataFormatError, match=message):
        load_native(tmp_path)


def test_an_empty_gold_answer_can_no_longer_be_matched_by_an_empty_answer(tmp_path: Path) -> None:
    # The reward hack of item 9: with gold [""], "<answer></answer>" scored correctness 1.0.
    write_lines(tmp_path / "corpus.jsonl", GOOD_CORPUS)
    write_lines(tmp_path / "questions.jsonl", ['{"question": "q?", "answers": [""], "split": "train"}'])
    with pytest.raises(DataFormatError, match="is empty"):
        gym.make("SearchQA-v0", dataset=str(tmp_path))


def test_integer_ids_are_kept_as_strings(tmp_path: Path) -> None:
    write_lines(tmp_path / "corpus.jsonl", ['{"id": 7, "text": "hello"}'])
    write_lines(tmp_path / "questions.jsonl", ['{"id": 3, "question": "q?", "answers": ["hi"], "supporting_ids": [7]}'])
    dataset = load_native(tmp_path)
    assert (
        dataset.documents[0].doc_id == "7" and dataset.tasks[0].id == "3" and dataset.tasks[0].supporting_ids == ("7",)
    )


def test_duplicate_ids_name_the_id_and_both_places(tmp_path: Path) -> None:
    write_lines(tmp_path / "corpus.jsonl", [*GOOD_CORPUS, '{"id": "d1", "text": "again"}'])
    write_lines(tmp_path / "questions.jsonl", [GOOD_QUESTION])
    with pytest.raises(
        DataFormatError, match=r"corpus.jsonl:3: duplicate document id 'd1' \(first at .*corpus.jsonl:1\)"
    ):
        load_native(tmp_path)
    write_lines(tmp_path / "corpus.jsonl", GOOD_CORPUS)
    write_lines(tmp_path / "questions.jsonl", [GOOD_QUESTION, "", GOOD_QUESTION])
    with pytest.raises(
        DataFormatError, match=r"questions.jsonl:3: duplicate question id 'q1' \(first at .*questions.j"
    ):
        load_native(tmp_path)
    rezero = tmp_path / "rezero"
    rezero.mkdir()
    write_lines(rezero / "chunks.csv", ["chunk_id,content", "1,hello", '2,"two', 'lines"', "1,again"])
    write_lines(rezero / "questions.jsonl", [])
    with pytest.raises(DataFormatError, match=r"chunks.csv:5: duplicate chunk_id '1' \(first at .*chunks.csv:2\)"):
        load_rezero(rezero)


def test_dataset_objects_name_duplicate_and_unknown_ids() -> None:
    from rezero_env.data.dataset import QADataset
    from rezero_env.types import Document, Task

    documents = (Document("d1", "a"), Document("d2", "b"), Document("d1", "c"))
    with pytest.raises(ValueError, match=r"document id 'd1' is used twice \(documents\[0\] and documents\[2\]\)"):
        QADataset("x", documents, (Task("q", "q?", ("a",)),))
    tasks = (Task("q", "q?", ("a",)), Task("q", "again?", ("b",)))
    with pytest.raises(ValueError, match=r"task id 'q' is used twice \(tasks\[0\] and tasks\[1\]\)"):
        QADataset("x", documents[:2], tasks)


def test_unknown_supporting_ids_name_file_and_line(tmp_path: Path) -> None:
    write_lines(tmp_path / "corpus.jsonl", GOOD_CORPUS)
    unknown = '{"id": "q2", "question": "q?", "answers": ["a"], "supporting_ids": ["d1", "d9"]}'
    write_lines(tmp_path / "questions.jsonl", [GOOD_QUESTION, unknown])
    with pytest.raises(DataFormatError, match=r"questions.jsonl:2: field 'supporting_ids': 'd9' is not a document id"):
        load_native(tmp_path)
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.md").write_text("Some text.")
    write_lines(notes / "questions.jsonl", ['{"question": "q?", "answer": "a", "supporting_ids": ["a.md#7"]}'])
    with pytest.raises(DataFormatError, match=r"questions.jsonl:1: field 'supporting_ids': 'a.md#7' is not a chunk id"):
        load_text_folder(notes)


def test_empty_corpus_and_questions_name_the_folder_and_file(tmp_path: Path) -> None:
    write_lines(tmp_path / "corpus.jsonl", [])
    write_lines(tmp_path / "questions.jsonl", [GOOD_QUESTION])
    with pytest.raises(DataFormatError, match=rf"{tmp_path}/corpus.jsonl: no documents \(dataset folder {tmp_path}\)$"):
        load_dataset(tmp_path)
    write_lines(tmp_path / "corpus.jsonl", GOOD_CORPUS)
    write_lines(tmp_path / "questions.jsonl", ["", "  "])
    with pytest.raises(DataFormatError, match=rf"{tmp_path}/questions.jsonl: no questions"):
        load_native(tmp_path)
    rezero = tmp_path / "rezero"
    rezero.mkdir()
    write_lines(rezero / "chunks.csv", ["chunk_id,content"])
    write_lines(rezero / "questions.jsonl", [])
    with pytest.raises(DataFormatError, match=r"rezero/chunks.csv: no documents"):
        load_rezero(rezero)


def test_empty_split_names_the_folder_and_file(tmp_path: Path) -> None:
    one, only_test = tmp_path / "one", tmp_path / "only-test"
    for folder, question in ((one, GOOD_QUESTION), (only_test, GOOD_QUESTION.replace("}", ', "split": "test"}'))):
        folder.mkdir()
        write_lines(folder / "corpus.jsonl", GOOD_CORPUS)
        write_lines(folder / "questions.jsonl", [question])
    # One question: ReZero's split needs two.
    with pytest.raises(
        ValueError, match=rf"no split 'train' \(tasks from {one}/questions.jsonl\); available: \['all'\]; 1"
    ):
        gym.make("SearchQA-v0", dataset=str(one))
    with pytest.raises(
        ValueError, match=rf"no split 'train' \(tasks from {only_test}/questions.jsonl\); available: \['all', 't"
    ):
        gym.make("SearchQA-v0", dataset=str(only_test))


def test_deeply_nested_json_is_a_format_error(tmp_path: Path) -> None:
    write_lines(tmp_path / "corpus.jsonl", GOOD_CORPUS)
    nested = '{"question": "q?", "answers": ["a"], "meta": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    write_lines(tmp_path / "questions.jsonl", [GOOD_QUESTION, nested])
    with pytest.raises(DataFormatError, match=r"questions.jsonl:2: not valid JSON \(nested too deeply\)"):
        load_native(tmp_path)


def test_an_unprepared_dataset_names_its_prepare_script(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Issue 27, item 5: ``gym.make("SearchQA-Apollo-v0")`` without the data said only "no questions file"."""
    import rezero_env  # noqa: F401  (registers the ids)

    monkeypatch.delenv("REZERO_DATA_DIR", raising=False)
    monkeypatch.chdir(REPO_ROOT)  # data/rezero-apollo holds only prepare.py and its README
    with pytest.raises(FileNotFoundError, match=r"not prepared.*python data/rezero-apollo/prepare\.py"):
        gym.make("SearchQA-Apollo-v0")
    monkeypatch.chdir(tmp_path)  # elsewhere: no ./data at all
    with pytest.raises(FileNotFoundError, match=r"rezero-apollo.*data/rezero-apollo/prepare\.py"):
        load_dataset("rezero-apollo")
