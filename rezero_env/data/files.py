"""Field checks for data records, with errors that name the file, the line and the field; the file readers live in
:mod:`rezero_env.files` (re-exported here).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rezero_env.files import (
    ENCODING,
    DataFormatError,
    encoding_error,
    kind,
    read_csv,
    read_jsonl,
    read_text,
)

__all__ = [
    "ENCODING",
    "DataFormatError",
    "encoding_error",
    "field",
    "identifier",
    "kind",
    "nonempty_string",
    "optional_title",
    "read_csv",
    "read_jsonl",
    "read_text",
    "string_list",
]


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
