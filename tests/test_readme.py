"""The README's quickstart runs as written and prints what it claims."""

from __future__ import annotations

import contextlib
import io
import re

from tests.conftest import REPO_ROOT


def test_readme_quickstart_runs() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    quickstart = readme.split("## Quickstart", 1)[1]
    code = re.search(r"```python\n(.*?)```", quickstart, re.DOTALL)
    assert code is not None
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(code.group(1), "README.md", "exec"), {})
    printed = output.getvalue()
    assert "<information>" in printed
    last_line = printed.strip().splitlines()[-1]
    claimed = re.search(r"print\(round\(reward, 2\), info\[\"reward_terms\"\]\)\s+# (\S+) (\{.*)", code.group(1))
    assert claimed is not None
    assert last_line.startswith(claimed.group(1) + " " + claimed.group(2).rstrip(".}").rstrip(", "))
