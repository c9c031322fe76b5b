"""A scripted, non-LLM searcher: a baseline for evaluation and the teacher of the supervised warm-up.

It reads the question, searches for the entity it names, reads the results with patterns that know how the
synthetic world's encyclopedia phrases its facts, follows a relation to a second entity for two-hop questions,
reformulates and searches again when the answer is not in the results, and answers with the extracted span.
Questions it cannot parse (other datasets) get one search for the question and the first sentence of the top result.
It is stateless: every decision is derived from the transcript, so it can act on any batch of episodes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rezero_env.protocol import tag_contents
from rezero_env.types import Message

_YEAR = r"(\d{3,4})"
_SPAN = r"([^.]+?)"


@dataclass(frozen=True)
class Relation:
    """A fact of the synthetic world: how to ask the search engine for it and how to read it off a paragraph."""

    name: str
    keywords: str
    pattern: str  # ``{e}`` stands for the escaped entity name; group 1 is the value

    def extract(self, entity: str, text: str) -> str | None:
        match = re.search(self.pattern.replace("{e}", re.escape(entity)), text, re.IGNORECASE)
        return match.group(1).strip() if match else None


RELATIONS = {
    r.name: r
    for r in (
        Relation("born", "born", rf"(?<!\w){{e}} was born in {_YEAR}\b"),
        Relation("birthplace", "born town", rf"(?<!\w){{e}} was born in \d+ in {_SPAN}\."),
        Relation("profession", "worked as", r"(?<!\w){e} worked as an? ([a-z ]+?) for the"),
        Relation("employer", "worked for", rf"(?<!\w){{e}} worked as an? [a-z ]+? for the {_SPAN}\."),
        Relation("teacher", "pupil of", rf"(?<!\w){{e}} was a pupil of {_SPAN}\."),
        Relation(
            "org_founded",
            "institution founded",
            rf"The {{e}} is an institution based in [^.]+\. It was founded in {_YEAR}",
        ),
        Relation("org_hq", "institution based in", rf"The {{e}} is an institution based in {_SPAN}\."),
        Relation(
            "org_founder",
            "institution founded by",
            rf"The {{e}} is an institution based in [^.]+\. It was founded in \d+ by {_SPAN}\.",
        ),
        Relation("maker", "object made by", rf"{{e}} is an? [a-z ]+? object made by {_SPAN} in \d+\."),
        Relation("made", "object made in", rf"{{e}} is an? [a-z ]+? object made by [^.]+? in {_YEAR}\."),
        Relation("material", "object made of", r"{e} is an? ([a-z ]+?) object made by"),
        Relation("keeper", "kept by", rf"{{e}} is an? [^.]+\. It is kept by the {_SPAN}\."),
        Relation("river", "town river banks", rf"(?<!\w){{e}} is a town in [^,]+, on the banks of the {_SPAN}\."),
        Relation("town_founded", "town founded", rf"(?<!\w){{e}} is a town in [^.]+\. It was founded in {_YEAR}"),
        Relation("industry", "town economy", rf"(?<!\w){{e}} is a town in .*? depended on {_SPAN}\."),
    )
}

# Question phrasing → the relations to follow, first to last (the entity is group "e").
QUESTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"In which town was the maker of (?P<e>.+) born\?", ("maker", "birthplace")),
    (r"In what year was the maker of (?P<e>.+) born\?", ("maker", "born")),
    (r"In which town is the institution that keeps (?P<e>.+) based\?", ("keeper", "org_hq")),
    (r"In what year was the founder of the (?P<e>.+) born\?", ("org_founder", "born")),
    (r"In what year was the institution that employed (?P<e>.+) founded\?", ("employer", "org_founded")),
    (r"Which river flows through the town where (?P<e>.+) was born\?", ("birthplace", "river")),
    (r"What was the profession of the teacher of (?P<e>.+)\?", ("teacher", "profession")),
    (r"In what year was the town of (?P<e>.+) founded\?", ("town_founded",)),
    (r"In what year was the (?P<e>.+) founded\?", ("org_founded",)),
    (r"In which town is the (?P<e>.+) based\?", ("org_hq",)),
    (r"Who founded the (?P<e>.+)\?", ("org_founder",)),
    (r"Who made (?P<e>.+)\?", ("maker",)),
    (r"In what year was (?P<e>.+) made\?", ("made",)),
    (r"What material is (?P<e>.+) made of\?", ("material",)),
    (r"Which institution keeps (?P<e>.+)\?", ("keeper",)),
    (r"Which river flows through (?P<e>.+)\?", ("river",)),
    (r"What industry has the economy of (?P<e>.+) long depended on\?", ("industry",)),
    (r"In what year was (?P<e>.+) born\?", ("born",)),
    (r"In which town was (?P<e>.+) born\?", ("birthplace",)),
    (r"What was the profession of (?P<e>.+)\?", ("profession",)),
    (r"Which institution employed (?P<e>.+)\?", ("employer",)),
    (r"Who was the teacher of (?P<e>.+)\?", ("teacher",)),
)


def question_of(messages: Sequence[Message]) -> str:
    """The question of an episode: the text after ``Question:`` in the first user message (or all of it)."""
    first_user = next((m["content"] for m in messages if m["role"] == "user"), "")
    return first_user.rsplit("Question:", 1)[-1].strip()


def parse_question(question: str) -> tuple[str, tuple[str, ...]] | None:
    """``(entity, relations)`` for a question in the synthetic world's phrasing, else None."""
    for pattern, relations in QUESTIONS:
        match = re.fullmatch(pattern, question.strip())
        if match:
            return match.group("e"), relations
    return None


class ScriptedSearcher:
    """Search, read, follow relations, retry with a reformulated query, answer with the extracted span.

    Args:
        max_searches: Searches per episode before answering with what it has.
        retry: Whether to reformulate and search again when a search misses (False: answer after one search).
    """

    name = "scripted"

    def __init__(self, max_searches: int = 4, retry: bool = True) -> None:
        self.max_searches = max_searches
        self.retry = retry

    def act(self, transcripts: Sequence[Sequence[Message]]) -> list[str]:
        return [self.next_message(list(messages)) for messages in transcripts]

    def next_message(self, messages: list[Message]) -> str:
        """The next assistant message for one transcript."""
        question = question_of(messages)
        past_queries = [
            q.strip() for m in messages if m["role"] == "assistant" for q in tag_contents(m["content"], "search")
        ]
        information = "\n".join(
            m["content"] for m in messages if m["role"] != "assistant" and "<information>" in m["content"]
        )
        parsed = parse_question(question)
        if parsed is None:
            return self._fallback(question, past_queries, information)
        entity, relations = parsed
        for relation_name in relations:
            relation = RELATIONS[relation_name]
            value = relation.extract(entity, information)
            if value is None:
                queries = [f"{entity} {relation.keywords}", entity, f"{entity} {question}"]
                fresh = [q for q in queries if q not in past_queries]
                attempts = len(queries) - len(fresh)
                if fresh and len(past_queries) < self.max_searches and (self.retry or attempts == 0):
                    return self._search(fresh[0], entity, relation.keywords, retrying=attempts > 0)
                return self._answer(f"I could not find the {relation.keywords} of {entity}; this is a guess.", entity)
            entity = value
        return self._answer(f"Based on the information found, the answer is {entity}.", entity)

    def _search(self, query: str, entity: str, keywords: str, retrying: bool) -> str:
        if retrying:
            thought = f"The results did not show the {keywords} of {entity}. I will try a different search."
        else:
            thought = f"I need to find the {keywords} of {entity}. Let me search for it."
        return f"<think>{thought}</think>\n<search>{query}</search>"

    @staticmethod
    def _answer(thought: str, answer: str) -> str:
        return f"<think>{thought}</think>\n<answer>{answer}</answer>"

    def _fallback(self, question: str, past_queries: list[str], information: str) -> str:
        if not past_queries:
            return self._search(question, "the question", "answer", retrying=False)
        top = re.search(r"Doc 1[^\n]*\n(.*?)(?:\n\n|\n</information>)", information, re.DOTALL)
        body = top.group(1) if top else ""
        first_sentence = re.split(r"(?<=[.!?])\s", body.strip(), maxsplit=1)[0].strip()[:200] or "unknown"
        return self._answer("Based on the top search result, the answer is in its first sentence.", first_sentence)
