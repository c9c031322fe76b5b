"""Browse, filter, compare and replay episode logs in a Gradio app (also installed as ``rezero-playback``).

    python scripts/playback.py runs/cpu-demo                       # a run directory (its episodes*.jsonl)
    python scripts/playback.py runs/a/episodes.jsonl runs/b --port 7861
    python scripts/playback.py runs/cpu-demo --host 0.0.0.0        # reachable from other machines (careful)
    python scripts/playback.py runs/cpu-demo --allow-model Qwen/Qwen2.5-0.5B-Instruct   # one more model for Live

The Live tab loads only the run directories given (and their checkpoints), the default model and each
``--allow-model``; Gradio's usage analytics are off unless ``--analytics`` is given.

Open http://127.0.0.1:7860 in a browser. See ``rezero_agents/playback/app.py`` for the views.
"""

from __future__ import annotations

import sys

from rezero_agents.playback.app import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
