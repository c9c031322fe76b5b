"""Text the agent reads: the default instructions, the question prompt and rendered search results — and the parser
that reads a rendered ``<information>`` body back into its documents (:func:`parse_information`), kept beside its
writer so the two cannot drift apart."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rezero_env.protocol import INFORMATION_CLOSE, INFORMATION_OPEN
from rezero_env.types import SearchResult

QUESTION_PLACEHOLDER = "{question}"
#: A ``{name}`` placeholder (``{"json": 1}`` and ``{a phrase}`` are text, not placeholders).
_PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")

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
#: The header line :func:`render_results` writes above each document.
_DOC_HEADER = re.compile(r"^Doc (\d+)(?: \(Title: (.*)\))?$")


def render_question(template: str, question: str) -> str:
    """Fill the ``{question}`` placeholder of ``template`` (other braces are left alone).

    Example:
        >>> render_question('Q: {question} {"json": 1}', "Who?")
        'Q: Who? {"json": 1}'
    """
    return template.replace(QUESTION_PLACEHOLDER, question)


def validate_prompt_template(template: object) -> str:
    """Return ``template`` if it is a string holding the ``{question}`` placeholder and no other ``{name}``
    placeholder (nothing would fill it: a typo such as ``{questions}``), else raise ValueError.

    Example:
        >>> validate_prompt_template("Q: {question} {a phrase in braces}")
        'Q: {question} {a phrase in braces}'
        >>> validate_prompt_template("Q: {question} {context}")
        Traceback (most recent call last):
        ...
        ValueError: prompt_template: nothing fills the placeholder(s) ['{context}'] (only '{question}' is filled)
    """
    if not isinstance(template, str) or QUESTION_PLACEHOLDER not in template:
        raise ValueError(f"prompt_template must be a string containing {QUESTION_PLACEHOLDER!r}, got {template!r}")
    unknown = sorted({p for p in _PLACEHOLDER.findall(template) if p != QUESTION_PLACEHOLDER})
    if unknown:
        raise ValueError(
            f"prompt_template: nothing fills the placeholder(s) {unknown} (only {QUESTION_PLACEHOLDER!r} is filled)"
        )
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


@dataclass(frozen=True)
class RenderedDocument:
    """One search result as the agent read it inside an ``<information>`` block."""

    rank: int
    title: str | None
    text: str


def parse_information(body: str) -> list[RenderedDocument]:
    """The ``Doc i (Title: t)`` results of an ``<information>`` body (the text between the tags) as
    :func:`render_results` wrote them; empty when it holds a message instead (``No results found.``,
    ``Search failed: …``). A header line counts only at the start or after a blank line, so a document text that
    holds a "Doc 2" line stays text.

    Example:
        >>> from rezero_env.protocol import tag_contents
        >>> results = [SearchResult("a", "Ada was born.", 1.0, title="Ada"), SearchResult("b", "Hi.", 0.5)]
        >>> body = tag_contents(render_results(results), "information")[0]
        >>> parse_information(body)  # the round trip
        [RenderedDocument(rank=1, title='Ada', text='Ada was born.'), RenderedDocument(rank=2, title=None, text='Hi.')]
        >>> parse_information(NO_RESULTS_TEXT)
        []
    """
    documents: list[RenderedDocument] = []
    lines: list[str] = []
    header: re.Match[str] | None = None
    for line in body.strip("\n").split("\n"):
        match = _DOC_HEADER.match(line)
        if match and (not lines or not lines[-1].strip() or header is None):
            if header is not None:
                documents.append(RenderedDocument(int(header.group(1)), header.group(2), "\n".join(lines).strip()))
            header, lines = match, []
        else:
            lines.append(line)
    if header is not None:
        documents.append(RenderedDocument(int(header.group(1)), header.group(2), "\n".join(lines).strip()))
    return documents
