"""Reading records from JSON Lines, CSV and text files with errors that name the file, the line and the problem.

Files are UTF-8 (a leading byte-order mark, as some editors write, is skipped). Any other encoding, a binary file or
UTF-16 gives a :class:`DataFormatError` naming the file and, for UTF-8 errors, the line and column of the first bad
byte.
"""

from __future__ import annotations

import codecs
import csv
import json
import math
from collections.abc import Iterator, Mapping
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


def field(record: Mapping[str, Any], name: str, path: Path, line_number: int, kind_: type | tuple[type, ...]) -> Any:
    """``record[name]``, checked to be of type ``kind_``; DataFormatError naming file, line and field otherwise."""
    if name not in record:
        raise DataFormatError(f"{path}:{line_number}: missing field {name!r}")
    value = record[name]
    if not isinstance(value, kind_) or (isinstance(value, bool) and bool not in _as_tuple(kind_)):
        expected = kind_.__name__ if isinstance(kind_, type) else " or ".join(k.__name__ for k in kind_)
        raise DataFormatError(f"{path}:{line_number}: field {name!r} should be {expected}, got {kind(value)}")
    return value


def _as_tuple(kind_: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind_ if isinstance(kind_, tuple) else (kind_,)


def _label(name: str, item: int | None) -> str:
    return f"field {name!r}" if item is None else f"field {name!r}: item {item}"


def nonempty_string(value: object, name: str, where: str, item: int | None = None) -> str:
    """``value`` if it is a string holding more than whitespace; DataFormatError naming ``where`` (``file:line``), the
    field and, for an element of a list, its index otherwise."""
    label = _label(name, item)
    if not isinstance(value, str):
        hint = ""
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            hint = f' (write "{value}" in quotes)'
        raise DataFormatError(f"{where}: {label} should be a string, got {kind(value)}{hint}")
    if not value.strip():
        raise DataFormatError(f"{where}: {label} is empty")
    return value


def identifier(value: object, name: str, where: str, item: int | None = None) -> str:
    """An id: a string holding more than whitespace, or an integer (returned as its decimal string)."""
    label = _label(name, item)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise DataFormatError(f"{where}: {label} should be a string or an integer, got {kind(value)}")
    if isinstance(value, str) and not value.strip():
        raise DataFormatError(f"{where}: {label} is empty")
    return str(value)


def string_list(
    record: Mapping[str, Any], name: str, path: Path, line_number: int, ids: bool = False
) -> tuple[str, ...]:
    """``record[name]`` as a tuple of non-empty strings (a single string becomes a 1-tuple); with ``ids``, integers
    are accepted too (as their decimal strings)."""
    value = field(record, name, path, line_number, (list, str))
    where = f"{path}:{line_number}"
    check = identifier if ids else nonempty_string
    if isinstance(value, str):
        return (check(value, name, where),)
    return tuple(check(item, name, where, index) for index, item in enumerate(value))


def optional_title(record: Mapping[str, Any], path: Path, line_number: int) -> str | None:
    """``record["title"]``: None when absent or null, else a string holding more than whitespace."""
    title = record.get("title")
    if title is None:
        return None
    where = f"{path}:{line_number}"
    if not isinstance(title, str):
        raise DataFormatError(f"{where}: field 'title' should be a string or null, got {kind(title)}")
    if not title.strip():
        raise DataFormatError(f"{where}: field 'title' is empty (omit it or use null for a document without one)")
    return title
