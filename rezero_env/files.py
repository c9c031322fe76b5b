"""Reading records from JSON Lines, CSV and text files with errors that name the file, the line and the problem
(shared by the data loaders and the search engines that read files, e.g. ``noisy``'s paraphrases).

Files are UTF-8 (a leading byte-order mark, as some editors write, is skipped). Any other encoding, a binary file or
UTF-16 gives a :class:`DataFormatError` naming the file and, for UTF-8 errors, the line and column of the first bad
byte.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ENCODING = "utf-8-sig"  # UTF-8, skipping a byte-order mark at the start
_UTF16_MARKS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)  # UTF-32's marks start with these too


class DataFormatError(ValueError):
    """A data file does not match its documented format; the message names the file, the line and the field."""


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, record)`` for every non-blank line of a JSON Lines file of objects."""
    _require_file(path)
    try:
        with path.open(encoding=ENCODING) as handle:
            for line_number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    raise DataFormatError(f"{path}:{line_number}: not valid JSON ({error.msg})") from None
                except RecursionError:
                    raise DataFormatError(f"{path}:{line_number}: not valid JSON (nested too deeply)") from None
                if not isinstance(record, dict):
                    raise DataFormatError(f"{path}:{line_number}: expected a JSON object, got {kind(record)}")
                yield line_number, record
    except UnicodeDecodeError:
        raise encoding_error(path) from None


def read_csv(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line_number, row)`` for every row of a CSV file whose header has the ``required`` columns
    (``line_number``: the row's last line)."""
    _require_file(path)
    csv.field_size_limit(1 << 30)
    try:
        with path.open(encoding=ENCODING, newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [name for name in required if name not in (reader.fieldnames or [])]
            if missing:
                raise DataFormatError(f"{path}:1: header lacks the column(s) {missing}; found {reader.fieldnames}")
            for row in reader:
                yield reader.line_num, row
    except UnicodeDecodeError:
        raise encoding_error(path) from None


def read_text(path: Path) -> str:
    """The text of a UTF-8 file (newlines translated as ``Path.read_text`` does)."""
    try:
        return path.read_text(encoding=ENCODING)
    except UnicodeDecodeError:
        raise encoding_error(path) from None


def encoding_error(path: Path) -> DataFormatError:
    """The error for a file that is not UTF-8: UTF-16 named as such, else the line and column of the first bad byte
    (the file is read again, line by line, to find it)."""
    with path.open("rb") as handle:
        if handle.read(2) in _UTF16_MARKS:
            return DataFormatError(f"{path}: UTF-16 text (byte-order mark); save it as UTF-8")
    with path.open("rb") as handle:
        for line_number, raw in enumerate(handle, start=1):
            try:
                raw.decode(ENCODING if line_number == 1 else "utf-8")
            except UnicodeDecodeError as error:
                start = error.start + (len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0)
                return DataFormatError(
                    f"{path}:{line_number}: not UTF-8 (byte 0x{raw[start]:02x} at column {start + 1}); "
                    "save the file as UTF-8"
                )
    return DataFormatError(f"{path}: not UTF-8; save the file as UTF-8")


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"No such data file: {path}")


def kind(value: object) -> str:
    """The JSON-ish name of ``value``'s type for error messages (``null`` for None)."""
    return "null" if value is None else type(value).__name__
