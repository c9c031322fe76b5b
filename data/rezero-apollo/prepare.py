"""Fetch ReZero's data (chunks.csv, questions.jsonl, paragraphs_noise.csv, mission_report.md) into this folder.

python data/rezero-apollo/prepare.py                 # download from GitHub (needs network)
python data/rezero-apollo/prepare.py --source DIR    # copy from a local folder
"""

from __future__ import annotations

import argparse
import shutil
import sys
import urllib.request
from pathlib import Path

FILES = ("chunks.csv", "questions.jsonl", "paragraphs_noise.csv", "mission_report.md")
BASE_URL = "https://raw.githubusercontent.com/menloresearch/ReZero/20fb6779c35d13c6894a1e8bc933d13a474e8e31/data/"
HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, help="local folder holding the files (instead of downloading)")
    parser.add_argument("--output-dir", type=Path, default=HERE)
    args = parser.parse_args()
    args.output_dir.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        target = args.output_dir / name
        if args.source is not None:
            source = args.source / name
            if not source.is_file():
                print(f"missing {source}", file=sys.stderr)
                return 1
            shutil.copyfile(source, target)
        else:
            with urllib.request.urlopen(BASE_URL + name, timeout=60) as response:
                target.write_bytes(response.read())
        print(f"{target} ({target.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
