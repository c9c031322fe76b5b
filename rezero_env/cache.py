"""Where rezero keeps what it builds once per machine (converted models, search indexes)."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_VARIABLE = "REZERO_CACHE"


def cache_dir() -> Path:
    """``$REZERO_CACHE`` or ``~/.cache/rezero``."""
    return Path(os.environ.get(CACHE_VARIABLE, Path.home() / ".cache" / "rezero")).expanduser()
