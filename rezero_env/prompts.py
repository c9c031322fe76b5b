"""Text the agent reads: the default instructions, the question prompt and rendered search results."""

from __future__ import annotations

from collections.abc import Sequence

from rezero_env.protocol import INFORMATION_CLOSE, INFORMATION_OPEN
from rezero_env.types import SearchResult

QUESTION_PLACEHOLDER = "{question}"

DEFAULT_SYSTEM_PROMPT = (
    "You are a research assistant. You answer questions by searching a document collection; "
    "you cannot answer from memory."
)

# The template never holds a whole "<information>…</information>" pair: ReZero's search_strategy rule would count the
# prompt itself as search results.
DEFAULT_PROMPT_TEMPLATE = (
    "Answer the question by searching.\n"
    "- Reason step by step inside <think> and </think>.\n"
    "- To search, write one query inside <search> and </search>; the results come back in an <information> block.\n"
    "- If the results do not contain the answer, think about why and search again with a different query.\n"
    "- When you know the answer, write it inside <answer> and </answer>, with no other words.\n"
    "\n"
    "Question: {question}"
)

NO_RESULTS_TEXT = "No results found."


def render_question(template: str, question: str) -> str:
    """Fill the ``{question}`` placeholder of ``template`` (other braces are left alone).

    Example:
        >>> render_question("Q: {question} {json}", "Who?")
        'Q: Who? {json}'
    """
    return template.replace(QUESTION_PLACEHOLDER, question)


def validate_prompt_template(template: object) -> str:
    """Return ``template`` if it is a string holding the ``{question}`` placeholder, else raise ValueError."""
    if not isinstance(template, str) or QUESTION_PLACEHOLDER not in template:
        raise ValueError(f"prompt_template must be a string containing {QUESTION_PLACEHOLDER!r}, got {template!r}")
    return template


def render_results(results: Sequence[SearchResult]) -> str:
    """Render ranked results as the ``<information>`` block the agent reads.

    Example:
        >>> print(render_results([SearchResult("d1", "Ada was born in 1815.", 2.5, title="Ada")]))
        <information>
        Doc 1 (Title: Ada)
        Ada was born in 1815.
        </information>
    """
    if not results:
        return render_information(NO_RESULTS_TEXT)
    blocks = []
    for rank, result in enumerate(results, start=1):
        header = f"Doc {rank} (Title: {result.title})" if result.title else f"Doc {rank}"
        blocks.append(f"{header}\n{result.text}")
    return render_information("\n\n".join(blocks))


def render_information(body: str) -> str:
    """Wrap ``body`` in an ``<information>`` block."""
    return f"{INFORMATION_OPEN}\n{body}\n{INFORMATION_CLOSE}"
