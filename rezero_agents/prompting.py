"""Few-shot examples shown to the model as chat turns before the real question.

Small instruct models ignore a tag protocol described only in words; shown two worked episodes as user/assistant
turns they follow it (stack.md: 32/32 samples used ``<search>``). The examples use invented entities that are not in
any corpus, several question shapes and a retry, so the model learns the moves rather than copying a query.
"""

from __future__ import annotations

from rezero_env.prompts import DEFAULT_PROMPT_TEMPLATE, render_question
from rezero_env.types import Message


def _question(text: str) -> Message:
    return Message(role="user", content=render_question(DEFAULT_PROMPT_TEMPLATE, text))


def _assistant(text: str) -> Message:
    return Message(role="assistant", content=text)


def _information(*docs: tuple[str, str]) -> Message:
    body = "\n\n".join(f"Doc {i} (Title: {title})\n{text}" for i, (title, text) in enumerate(docs, start=1))
    return Message(role="user", content=f"<information>\n{body}\n</information>")


FEW_SHOT_MESSAGES: tuple[Message, ...] = (
    _question("In what year was Tamsin Orrow born?"),
    _assistant(
        "<think>I need the birth year of Tamsin Orrow. Let me search.</think>\n<search>Tamsin Orrow born</search>"
    ),
    _information(
        ("Tamsin Orrel", "Tamsin Orrel was born in 1702 in Hallowmere. Tamsin Orrel was largely self-taught."),
        (
            "Tamsin Orrow",
            "Tamsin Orrow was born in 1720 in Brindlecombe. As a young weaver, Tamsin Orrow was a pupil of Edda Crane.",
        ),
    ),
    _assistant(
        "<think>Based on the results, Doc 2 is about Tamsin Orrow (Doc 1 is a different person). "
        "Tamsin Orrow was born in 1720.</think>\n<answer>1720</answer>"
    ),
    _question("Which river flows through the town where Ivo Penhale was born?"),
    _assistant(
        "<think>First I need the town where Ivo Penhale was born.</think>\n<search>Ivo Penhale born town</search>"
    ),
    _information(("Ivo Penhale", "Ivo Penhale worked as a printer for the Quillon Press.")),
    _assistant(
        "<think>The results do not say where Ivo Penhale was born. I will try a different search."
        "</think>\n<search>Ivo Penhale was born in</search>"
    ),
    _information(("Ivo Penhale", "Ivo Penhale was born in 1688 in Carrowford. Ivo Penhale was largely self-taught.")),
    _assistant(
        "<think>According to the results, Ivo Penhale was born in Carrowford. Now I need the river of "
        "Carrowford.</think>\n<search>Carrowford town river</search>"
    ),
    _information(
        ("Carrowford", "Carrowford is a town in the Lune Vale, on the banks of the Sable River. It was founded in 912.")
    ),
    _assistant(
        "<think>Based on the information, the Sable River flows through Carrowford.</think>\n"
        "<answer>Sable River</answer>"
    ),
)
