"""ReZero's em_chunk term: did a search bring back the paragraph that holds the answer?

Datasets without supporting documents (Search-R1, Hugging Face QA sets) fall back to "did a search bring back a
document containing a gold answer" (:func:`answer_in_results_reward`), so the term's maximum is 1 on every dataset.
"""

from __future__ import annotations

from collections.abc import Sequence

from rezero_env.protocol import is_information_message
from rezero_env.rewards.base import RewardTerm
from rezero_env.rewards.judge import normalize_answer
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
    return float(paragraph in _information_text(messages))


def answer_in_results_reward(messages: Sequence[Message], answers: Sequence[str]) -> float:
    """The fallback for tasks without a supporting paragraph: 1 if a gold answer, SQuAD-normalised, appears as whole
    words in the normalised information messages, else 0.

    Example:
        >>> messages = [{"role": "user", "content": "<information>Doc 1\\nThe Aurora was built in 1821.</information>"}]
        >>> answer_in_results_reward(messages, ["1821"]), answer_in_results_reward(messages, ["182"])
        (1.0, 0.0)
    """
    wanted = [f" {normalized} " for normalized in map(normalize_answer, answers) if normalized]
    if not wanted:
        return 0.0
    text = _information_text(messages).replace("<information>", " ").replace("</information>", " ")
    information = f" {normalize_answer(text)} "
    return float(any(answer in information for answer in wanted))


def _information_text(messages: Sequence[Message]) -> str:
    return "\n".join(
        m["content"] for m in messages if m["role"] in INFORMATION_ROLES and is_information_message(m["content"])
    )


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
    """Wrapper adding :func:`em_chunk_reward` for the current task's supporting paragraph (ReZero weight 1); for a
    task without one (no ``supporting_ids`` and no ``meta["supporting_paragraphs"]``, as in Search-R1 and Hugging
    Face datasets) it adds :func:`answer_in_results_reward` instead: a retrieved document contains a gold answer."""

    name = "em_chunk"

    def score(self, messages: Sequence[Message], task: Task) -> float:
        paragraph = supporting_paragraph(task, self.env.unwrapped)
        if not paragraph.strip():
            return answer_in_results_reward(messages, task.answers)
        return em_chunk_reward(messages, paragraph)

    def explain(self, messages: Sequence[Message], task: Task, value: float) -> str:
        if not task.supporting_ids and not task.meta.get("supporting_paragraphs"):
            found = "a result contains" if value else "no result contains"
            return f"no supporting paragraph in this dataset: {found} a gold answer"
        return "the supporting paragraph was retrieved" if value else "the supporting paragraph was not retrieved"
