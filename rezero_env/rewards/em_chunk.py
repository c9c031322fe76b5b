"""ReZero's em_chunk term: did a search bring back the paragraph that holds the answer?"""

from __future__ import annotations

from collections.abc import Sequence

from rezero_env.protocol import is_information_message
from rezero_env.rewards.base import RewardTerm
from rezero_env.types import Message, Task

INFORMATION_ROLES = ("user", "ipython", "tool")


def em_chunk_reward(messages: Sequence[Message], paragraph: str) -> float:
    """1 if ``paragraph`` (stripped) appears verbatim in the concatenated information messages (roles user, ipython
    or tool whose stripped content starts with ``<information>``), else 0.

    Example:
        >>> messages = [{"role": "user", "content": "<information>Doc 1\\nX was founded by Y.</information>"}]
        >>> em_chunk_reward(messages, "X was founded by Y."), em_chunk_reward(messages, "Z.")
        (1.0, 0.0)
    """
    paragraph = paragraph.strip()
    if not paragraph:
        return 0.0
    information = "\n".join(
        m["content"] for m in messages if m["role"] in INFORMATION_ROLES and is_information_message(m["content"])
    )
    return float(paragraph in information)


def supporting_paragraph(task: Task, env_unwrapped: object) -> str:
    """The text em_chunk looks for: the last of ``task.meta["supporting_paragraphs"]`` when the dataset gives
    paragraph texts (ReZero's format), else the text of the last supporting document; "" when there is none."""
    paragraphs = task.meta.get("supporting_paragraphs")
    if paragraphs:
        return str(paragraphs[-1])
    if not task.supporting_ids:
        return ""
    dataset = getattr(env_unwrapped, "dataset", None)
    if dataset is None:
        raise TypeError("EmChunkReward needs an environment whose unwrapped env exposes `dataset`")
    text: str = dataset.document(task.supporting_ids[-1]).text
    return text


class EmChunkReward(RewardTerm):
    """Wrapper adding :func:`em_chunk_reward` for the current task's supporting paragraph (ReZero weight 1)."""

    name = "em_chunk"

    def score(self, messages: Sequence[Message], task: Task) -> float:
        return em_chunk_reward(messages, supporting_paragraph(task, self.env.unwrapped))
