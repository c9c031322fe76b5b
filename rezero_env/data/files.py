"""Reading records from JSON Lines and CSV files with errors that name the file, the line and the problem."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any


class DataFormatError(ValueError):
    """A data file does not match its documented format; the message names the file, the line and the field."""


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, record)`` for every non-blank line of a JSON Lines file of objects."""
    if not path.is_file():
        raise FileNotFoundError(f"No such data file: {path}")
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataFormatError(f"{path}:{line_number}: not valid JSON ({error.msg})") from None
            if not isinstance(record, dict):
                raise DataFormatError(f"{path}:{line_number}: expected a JSON object, got {type(record).__name__}")
            yield line_number, record


def read_csv(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line_number, row)`` for every row of a CSV file whose header has the ``required`` columns."""
    if not path.is_file():
        raise FileNotFoundError(f"No such data file: {path}")
    csv.field_size_limit(1 << 30)
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in required if name not in (reader.fieldnames or [])]
        if missing:
            raise DataFormatError(f"{path}:1: header lacks the column(s) {missing}; found {reader.fieldnames}")
        for row in reader:
            yield reader.line_num, row


def field(record: Mapping[str, Any], name: str, path: Path, line_number: int, kind: type | tuple[type, ...]) -> Any:
    """``record[name]``, checked to be of type ``kind``; DataFormatError naming file, line and field otherwise."""
    if name not in record:
        raise DataFormatError(f"{path}:{line_number}: missing field {name!r}")
    value = record[name]
    if not isinstance(value, kind):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise DataFormatError(f"{path}:{line_number}: field {name!r} should be {expected}, got {type(value).__name__}")
    return value


def string_list(record: Mapping[str, Any], name: str, path: Path, line_number: int) -> tuple[str, ...]:
    """``record[name]`` as a tuple of strings (a single string becomes a 1-tuple)."""
    value = field(record, name, path, line_number, (list, str))
    values = [value] if isinstance(value, str) else value
    if not all(isinstance(item, str | int | float) for item in values):
        raise DataFormatError(f"{path}:{line_number}: field {name!r} should hold strings")
    return tuple(str(item) for item in values)
