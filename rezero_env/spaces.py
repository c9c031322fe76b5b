"""A Gymnasium ``Text`` space wide enough for real text, and a function that keeps observations inside it.

Also registers how :class:`UnicodeText` travels through ``AsyncVectorEnv``'s shared memory. Gymnasium 1.4 reads a
``Text`` observation out of shared memory once, when the vector env is built, so with the default
``shared_memory=True`` every later observation would read back as that first, empty, string; the reader registered
here returns a live view that decodes the current text (``copy=True``, the default, turns it into a plain tuple).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator, Sequence
from multiprocessing.sharedctypes import SynchronizedArray
from typing import Any, overload

import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import read_from_shared_memory, write_to_shared_memory

REPLACEMENT_CHARACTER = "\ufffd"
TRUNCATION_MARKER = "\n[…truncated]"
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@functools.cache
def text_charset() -> str:
    """Every character of Unicode's Basic Multilingual Plane except surrogates and control characters, plus
    ``\\t``, ``\\n`` and ``\\r``: about 63,000 characters, enough for text in any living script."""
    return "".join(
        chr(code)
        for code in range(0x10000)
        if unicodedata.category(chr(code)) not in ("Cs", "Cc") or chr(code) in "\t\n\r"
    )


@functools.cache
def _charset_members() -> frozenset[str]:
    return frozenset(text_charset())


class UnicodeText(spaces.Text):
    """``gymnasium.spaces.Text`` over :func:`text_charset`, with a readable ``repr``.

    Example:
        >>> space = UnicodeText(max_length=100)
        >>> space.contains("Hello, world! Grüße — 你好\\n")
        True
        >>> space
        UnicodeText(min_length=0, max_length=100, charset=<Unicode BMP text, 63426 characters>)
    """

    def __init__(self, max_length: int, *, min_length: int = 0, seed: int | None = None) -> None:
        super().__init__(max_length, min_length=min_length, charset=text_charset(), seed=seed)

    def __repr__(self) -> str:
        return (
            f"UnicodeText(min_length={self.min_length}, max_length={self.max_length}, "
            f"charset=<Unicode BMP text, {len(self.character_set)} characters>)"
        )


def sanitize_text(text: str, max_length: int) -> str:
    """Make ``text`` a member of ``UnicodeText(max_length)``: characters outside the charset (emoji and other
    astral-plane characters, control characters) become U+FFFD and text beyond ``max_length`` is cut, ending with a
    visible marker.

    Example:
        >>> sanitize_text("ok \\x00 😀", 100)
        'ok \\ufffd \\ufffd'
    """
    if text.isascii():
        text = _ASCII_CONTROL.sub(REPLACEMENT_CHARACTER, text)
    else:
        members = _charset_members()
        text = "".join(ch if ch in members else REPLACEMENT_CHARACTER for ch in text)
    if len(text) > max_length:
        text = (
            text[: max_length - len(TRUNCATION_MARKER)] + TRUNCATION_MARKER if max_length > 100 else text[:max_length]
        )
    return text


@functools.cache
def _codepoints() -> np.ndarray[Any, np.dtype[np.uint32]]:
    return np.array([ord(ch) for ch in text_charset()], dtype=np.uint32)


class SharedTexts(Sequence[str]):
    """The texts of ``n`` environments in an ``AsyncVectorEnv`` shared-memory buffer, decoded on access."""

    def __init__(self, space: UnicodeText, shared_memory: SynchronizedArray[Any], n: int) -> None:
        buffer: Any = shared_memory.get_obj()
        self._rows = np.frombuffer(buffer, dtype=np.int32).reshape(n, space.max_length)
        self._padding = len(space.character_list)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...

    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        row = self._rows[index]
        indices = row[row < self._padding]
        return str(_codepoints()[indices].tobytes().decode("utf-32-le"))

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[str]:
        return (self[i] for i in range(len(self)))

    def __deepcopy__(self, memo: dict[int, Any]) -> tuple[str, ...]:
        return tuple(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(tuple(self))


@read_from_shared_memory.register(UnicodeText)
def _read_unicode_text(space: UnicodeText, shared_memory: SynchronizedArray[Any], n: int = 1) -> SharedTexts:
    return SharedTexts(space, shared_memory, n)


@write_to_shared_memory.register(UnicodeText)
def _write_unicode_text(space: UnicodeText, index: int, value: str, shared_memory: SynchronizedArray[Any]) -> None:
    codepoints = _codepoints()
    codes = np.frombuffer(value.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if len(codes) > space.max_length:
        raise ValueError(f"Text of {len(codes)} characters exceeds the space's max_length {space.max_length}")
    indices = np.searchsorted(codepoints, codes)
    indices[indices >= len(codepoints)] = 0
    if not np.array_equal(codepoints[indices], codes):
        raise ValueError("Text holds characters outside the UnicodeText charset; pass it through sanitize_text")
    size = space.max_length
    buffer: Any = shared_memory.get_obj()
    destination = np.frombuffer(buffer, dtype=np.int32)[index * size : (index + 1) * size]
    destination[: len(indices)] = indices
    destination[len(indices) :] = len(codepoints)
