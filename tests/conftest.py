"""Shared fixtures: the repository root and ReZero's Apollo data in ../shared (never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
APOLLO_DIR = Path(os.environ.get("REZERO_APOLLO_DIR", REPO_ROOT.parent / "shared" / "datasets" / "rezero-apollo"))


@pytest.fixture(scope="session")
def apollo_dir() -> Path:
    if not (APOLLO_DIR / "chunks.csv").is_file():
        pytest.skip(f"ReZero's data not found at {APOLLO_DIR} (set REZERO_APOLLO_DIR)")
    return APOLLO_DIR
