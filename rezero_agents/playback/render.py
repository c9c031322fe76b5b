"""Episode records as HTML: the transcript as a chat (``<think>``, ``<search>``, ``<information>`` and ``<answer>``
styled apart, each search's results in a ``<details>`` block), the gold answer beside the predicted one, the
searches and the per-term reward table.

Logs hold model output, so every piece of log text is escaped before it is placed in the markup; only the markup
written here is HTML. The styles (:data:`CSS`) use the ``rz-`` class prefix.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rezero_agents.playback.loading import predicted_answer
from rezero_env.protocol import tag_spans

#: Tags of the protocol that get a style of their own, in the order they are looked for.
TAGS = ("think", "search", "answer", "information")
_DOC_HEADER = re.compile(r"^Doc (\d+)(?: \(Title: (.*)\))?$")


def esc(value: object) -> str:
    """``value`` as text that is safe inside HTML elements and attribute values.

    Example:
        >>> esc('<script>alert("x")</script>')
        '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'
    """
    return html.escape(str(value), quote=True)


def segments(text: str) -> list[tuple[str | None, str]]:
    """Split a message into ``(tag, inner text)`` pieces: ``tag`` is one of :data:`TAGS` for a closed block,
    None for the text around them. A block inside another block stays part of the outer one's text.

    Example:
        >>> segments("<think>hm</think>\\n<search>Ada</search>")
        [('think', 'hm'), (None, '\\n'), ('search', 'Ada')]
    """
    spans = sorted((start, end, tag) for tag in TAGS for start, end in tag_spans(text, tag))
    pieces: list[tuple[str | None, str]] = []
    position = 0
    for start, end, tag in spans:
        if start < position:  # nested in (or overlapping) a block already taken
            continue
        if start > position:
            pieces.append((None, text[position:start]))
        pieces.append((tag, text[start + len(tag) + 2 : end - len(tag) - 3]))
        position = end
    if position < len(text):
        pieces.append((None, text[position:]))
    return pieces


@dataclass(frozen=True)
class Document:
    """One search result as the agent read it inside an ``<information>`` block."""

    rank: int
    title: str | None
    text: str


def parse_information(body: str) -> list[Document]:
    """The ``Doc i (Title: t)`` results of an ``<information>`` body (empty when it holds a message instead, such
    as ``No results found.``).

    Example:
        >>> parse_information("\\nDoc 1 (Title: Ada)\\nAda was born.\\n\\nDoc 2\\nMore.\\n")
        [Document(rank=1, title='Ada', text='Ada was born.'), Document(rank=2, title=None, text='More.')]
    """
    documents: list[Document] = []
    lines: list[str] = []
    header: re.Match[str] | None = None
    for line in body.strip("\n").split("\n"):
        match = _DOC_HEADER.match(line)
        if match and (not lines or not lines[-1].strip() or header is None):
            if header is not None:
                documents.append(Document(int(header.group(1)), header.group(2), "\n".join(lines).strip()))
            header, lines = match, []
        else:
            lines.append(line)
    if header is not None:
        documents.append(Document(int(header.group(1)), header.group(2), "\n".join(lines).strip()))
    return documents


def _text(value: str) -> str:
    return f'<span class="rz-plain">{esc(value)}</span>' if value.strip() else ""


def _information(body: str, search: Mapping[str, Any] | None, number: int, supporting: set[str]) -> str:
    documents = parse_information(body)
    doc_ids = list(search.get("doc_ids") or []) if search else []
    query = str(search.get("query", "")) if search else ""
    titles = " · ".join(esc(d.title or f"Doc {d.rank}") for d in documents)
    summary = (
        f'<span class="rz-label rz-label-info">results</span> search {number}'
        + (f" <q>{esc(query)}</q>" if query else "")
        + f" — {len(documents)} doc{'s' * (len(documents) != 1)}"
        + (f": {titles}" if titles else "")
    )
    if search and search.get("error"):
        summary += f' <span class="rz-error">error: {esc(search["error"])}</span>'
    if not documents:
        inner = f'<div class="rz-doc-text">{esc(body.strip())}</div>'
    else:
        parts = []
        for document in documents:
            doc_id = str(doc_ids[document.rank - 1]) if 0 < document.rank <= len(doc_ids) else None
            badge = ' <span class="rz-support">supporting</span>' if doc_id in supporting else ""
            parts.append(
                '<div class="rz-doc"><div class="rz-doc-head">'
                f"Doc {document.rank}"
                + (f" · <b>{esc(document.title)}</b>" if document.title else "")
                + (f" · <code>{esc(doc_id)}</code>" if doc_id else "")
                + f'{badge}</div><div class="rz-doc-text">{esc(document.text)}</div></div>'
            )
        inner = "".join(parts)
    return f'<details class="rz-info"><summary>{summary}</summary>{inner}</details>'


def render_message_content(text: str) -> str:
    """An assistant message: each protocol block in its own style, the rest as plain text."""
    parts = []
    for tag, inner in segments(text):
        if tag is None:
            parts.append(_text(inner))
        else:
            parts.append(
                f'<div class="rz-block rz-{tag}"><span class="rz-label rz-label-{tag}">{tag}</span>'
                f'<span class="rz-block-text">{esc(inner)}</span></div>'
            )
    return "".join(parts)


def render_transcript(messages: Sequence[Any], searches: Sequence[Any] = (), supporting_ids: Sequence[str] = ()) -> str:
    """The chat: system prompt and question prompt folded, assistant turns by block, each ``<information>``
    message as an expandable list of its results (with the doc ids of the matching search)."""
    supporting = {str(s) for s in supporting_ids}
    search_list = [s for s in searches if isinstance(s, Mapping)]
    parts = ['<div class="rz-chat">']
    seen_user = False
    information_count = 0
    turn = 0
    for message in messages:
        if not isinstance(message, Mapping):
            continue
        role, content = str(message.get("role", "?")), str(message.get("content", ""))
        if role == "system":
            parts.append(
                '<details class="rz-msg rz-system"><summary>system prompt</summary>'
                f'<div class="rz-pre">{esc(content)}</div></details>'
            )
        elif role == "assistant":
            turn += 1
            parts.append(
                f'<div class="rz-msg rz-assistant"><div class="rz-role">assistant · turn {turn}</div>'
                f"{render_message_content(content)}</div>"
            )
        elif role == "user" and not seen_user:
            seen_user = True
            question = content.rsplit("Question:", 1)[-1].strip() if "Question:" in content else content
            parts.append(
                '<div class="rz-msg rz-user"><div class="rz-role">user</div>'
                f'<div class="rz-question">{esc(question)}</div>'
                f'<details><summary>full prompt</summary><div class="rz-pre">{esc(content)}</div></details></div>'
            )
        else:
            blocks = segments(content)
            inner = []
            for tag, body in blocks:
                if tag == "information":
                    search = search_list[information_count] if information_count < len(search_list) else None
                    information_count += 1
                    inner.append(_information(body, search, information_count, supporting))
                elif tag is None:
                    inner.append(_text(body))
                else:
                    inner.append(render_message_content(f"<{tag}>{body}</{tag}>"))
            parts.append(f'<div class="rz-msg rz-env"><div class="rz-role">{esc(role)}</div>{"".join(inner)}</div>')
    parts.append("</div>")
    return "".join(parts)


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return esc(value)
    return f"{value:.3f}".rstrip("0").rstrip(".") if math.isfinite(value) else esc(value)


def render_rewards(record: Mapping[str, Any]) -> str:
    """The per-term reward table (each term's raw value, as the reward wrappers recorded it) and the total."""
    terms = record.get("reward_terms") or {}
    rows = []
    if isinstance(terms, Mapping):
        for name, value in terms.items():
            share = min(1.0, max(0.0, float(value))) if isinstance(value, int | float) and math.isfinite(value) else 0
            rows.append(
                f"<tr><td>{esc(name)}</td><td class='rz-num'>{_number(value)}</td>"
                f"<td><div class='rz-bar'><div style='width:{share * 100:.0f}%'></div></div></td></tr>"
            )
    if not rows:
        rows.append("<tr><td colspan='3'><i>no reward terms logged</i></td></tr>")
    return (
        '<table class="rz-table rz-rewards"><thead><tr><th>reward term</th><th>value</th><th></th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody><tfoot><tr><th>total reward</th>"
        f"<th class='rz-num'>{_number(record.get('reward', ''))}</th><th></th></tr></tfoot></table>"
    )


def render_searches(searches: Sequence[Any]) -> str:
    """The searches of an episode: turn, query, returned doc ids, error."""
    rows = [
        f"<tr><td class='rz-num'>{esc(s.get('turn', ''))}</td><td>{esc(s.get('query', ''))}</td>"
        f"<td>{'<br>'.join(esc(d) for d in s.get('doc_ids') or [])}</td>"
        f"<td>{esc(s.get('error') or '')}</td></tr>"
        for s in searches
        if isinstance(s, Mapping)
    ]
    if not rows:
        rows.append("<tr><td colspan='4'><i>no searches</i></td></tr>")
    return (
        '<table class="rz-table rz-searches"><thead><tr><th>turn</th><th>query</th><th>doc ids</th><th>error</th>'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _answers(record: Mapping[str, Any]) -> str:
    task = record.get("task") if isinstance(record.get("task"), Mapping) else {}
    assert isinstance(task, Mapping)
    gold = task.get("answers") or []
    messages = record.get("messages") if isinstance(record.get("messages"), list) else []
    predicted = predicted_answer(messages or [])
    correct = record.get("correct") is True
    verdict = '<span class="rz-ok">✓ correct</span>' if correct else '<span class="rz-bad">✗ incorrect</span>'
    gold_text = " | ".join(esc(g) for g in gold) if isinstance(gold, list) and gold else "<i>none given</i>"
    return (
        '<div class="rz-answers">'
        f'<div class="rz-gold"><div class="rz-caption">gold answer</div>{gold_text}</div>'
        f'<div class="rz-predicted"><div class="rz-caption">predicted answer {verdict}</div>'
        + (esc(predicted) if predicted is not None else "<i>no answer</i>")
        + "</div></div>"
    )


def _meta(record: Mapping[str, Any], location: str | None) -> str:
    items = []
    for key in ("run_id", "phase", "step", "split", "group", "policy", "model", "checkpoint", "num_turns"):
        value = record.get(key)
        if value is not None and value != "" and not (key == "step" and value == -1):
            items.append(f"<span><b>{esc(key)}</b> {esc(value)}</span>")
    ending = [name for name in ("terminated", "truncated", "cut") if record.get(name) is True]
    if ending:
        items.append(f"<span><b>ended</b> {esc(', '.join(ending))}</span>")
    tokens = record.get("num_tokens")
    if tokens:
        items.append(
            f"<span><b>tokens</b> {esc(tokens)} ({esc(record.get('num_generated_tokens', '?'))} generated)</span>"
        )
    if location:
        items.append(f"<span><b>log</b> <code>{esc(location)}</code></span>")
    return f'<div class="rz-meta">{"".join(items)}</div>'


def render_episode(record: Mapping[str, Any], location: str | None = None, compact: bool = False) -> str:
    """One episode: question, gold vs predicted answer, run details, reward table, searches and transcript.
    ``compact`` stacks everything in one column (for the compare view)."""
    task = record.get("task") if isinstance(record.get("task"), Mapping) else {}
    assert isinstance(task, Mapping)
    searches = record.get("searches") if isinstance(record.get("searches"), list) else []
    messages = record.get("messages") if isinstance(record.get("messages"), list) else []
    assert isinstance(searches, list) and isinstance(messages, list)
    head = (
        f'<div class="rz-head"><div class="rz-title">{esc(task.get("question", ""))}</div>'
        f'<div class="rz-task">task <code>{esc(task.get("id", ""))}</code></div>'
        f"{_answers(record)}{_meta(record, location)}</div>"
    )
    side = (
        f'<div class="rz-side"><h4>Rewards</h4>{render_rewards(record)}'
        f"<h4>Searches ({len(searches)})</h4>{render_searches(searches)}</div>"
    )
    transcript = (
        f'<div class="rz-main"><h4>Transcript</h4>'
        f"{render_transcript(messages, searches, task.get('supporting_ids') or [])}</div>"
    )
    layout = "rz-compact" if compact else "rz-wide"
    return f'<div class="rz-episode">{head}<div class="rz-body {layout}">{transcript}{side}</div></div>'


def render_compare(left: str, right: str) -> str:
    """Two rendered episodes side by side."""
    return f'<div class="rz-compare"><div>{left}</div><div>{right}</div></div>'


def render_notice(text: str, kind: str = "info") -> str:
    """A short escaped message box (``kind``: ``info``, ``warning`` or ``error``)."""
    return f'<div class="rz-notice rz-notice-{esc(kind)}">{esc(text)}</div>'


CSS = """
.rz-episode, .rz-notice { font-family: ui-sans-serif, system-ui, "Segoe UI", Roboto, Arial, "DejaVu Sans", sans-serif; }
.rz-episode { font-size: 14px; line-height: 1.45; color: #1f2937; }
.rz-episode code { font-size: 12px; background: #f3f4f6; padding: 0 3px; border-radius: 3px; color: #374151; }
.rz-head { border-bottom: 1px solid #e5e7eb; padding-bottom: 8px; margin-bottom: 8px; }
.rz-title { font-size: 18px; font-weight: 700; }
.rz-task { color: #6b7280; font-size: 12px; margin: 2px 0 6px; }
.rz-answers { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; margin: 6px 0; }
.rz-gold, .rz-predicted { border-radius: 6px; padding: 6px 10px; font-weight: 700; }
.rz-gold { background: #fef9c3; border: 1px solid #fde047; }
.rz-predicted { background: #f1f5f9; border: 1px solid #cbd5e1; }
.rz-caption { font-size: 11px; font-weight: 400; text-transform: uppercase; letter-spacing: .04em; color: #6b7280; }
.rz-ok { color: #15803d; font-weight: 700; text-transform: none; }
.rz-bad { color: #b91c1c; font-weight: 700; text-transform: none; }
.rz-meta { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; color: #4b5563; }
.rz-body { display: grid; gap: 14px; }
.rz-wide { grid-template-columns: minmax(0, 2fr) minmax(280px, 1fr); }
.rz-compact { grid-template-columns: minmax(0, 1fr); }
.rz-compact .rz-side { order: -1; }
.rz-episode h4 { margin: 4px 0 6px; font-size: 13px; font-weight: 700; text-transform: uppercase; letter-spacing: .05em;
  color: #6b7280; }
.rz-chat { display: flex; flex-direction: column; gap: 8px; }
.rz-msg { border-radius: 8px; padding: 6px 10px; border: 1px solid #e5e7eb; background: #fff; }
.rz-assistant { background: #f8fafc; margin-right: 8%; border-left: 4px solid #6366f1; }
.rz-user, .rz-env { margin-left: 8%; }
.rz-user { border-left: 4px solid #9ca3af; }
.rz-env { border-left: 4px solid #f59e0b; background: #fffdf7; }
.rz-system { color: #6b7280; font-size: 12px; }
.rz-role { font-size: 11px; text-transform: uppercase; letter-spacing: .05em; color: #6b7280; margin-bottom: 2px; }
.rz-question { font-weight: 700; }
.rz-pre, .rz-plain, .rz-block-text, .rz-doc-text { white-space: pre-wrap; word-break: break-word; }
.rz-pre { font-family: ui-monospace, monospace; font-size: 12px; color: #374151; }
.rz-block { border-radius: 6px; padding: 4px 8px; margin: 4px 0; }
.rz-think { background: #f3f4f6; color: #4b5563; font-style: italic; }
.rz-search { background: #dbeafe; color: #1e3a8a; font-family: ui-monospace, monospace; }
.rz-answer { background: #dcfce7; color: #14532d; font-weight: 700; }
.rz-information { background: #fef3c7; color: #78350f; }
.rz-label { display: inline-block; font-size: 10px; font-style: normal; font-weight: 700; text-transform: uppercase;
  letter-spacing: .05em; border-radius: 4px; padding: 0 5px; margin-right: 6px; color: #fff; vertical-align: 1px;
  font-family: system-ui, sans-serif; }
.rz-label-think { background: #6b7280; }
.rz-label-search { background: #2563eb; }
.rz-label-answer { background: #16a34a; }
.rz-label-information, .rz-label-info { background: #d97706; }
.rz-info { border: 1px solid #fcd34d; background: #fffbeb; border-radius: 6px; padding: 4px 8px; margin: 4px 0; }
.rz-info > summary { cursor: pointer; color: #78350f; }
.rz-info q { font-family: ui-monospace, monospace; color: #1e3a8a; }
.rz-doc { border-top: 1px dashed #fcd34d; padding: 4px 0; }
.rz-doc-head { font-size: 12px; color: #92400e; }
.rz-support { background: #16a34a; color: #fff; border-radius: 4px; font-size: 10px; padding: 0 4px; margin-left: 4px; }
.rz-error { color: #b91c1c; }
.rz-episode .rz-table { border-collapse: collapse; width: 100%; font-size: 13px; margin-bottom: 8px; border: 0; }
.rz-episode .rz-table th, .rz-episode .rz-table td { border: 0; border-bottom: 1px solid #e5e7eb; padding: 3px 6px;
  text-align: left; vertical-align: top; background: transparent; }
.rz-episode .rz-table thead th { font-size: 11px; text-transform: uppercase; color: #6b7280; }
.rz-episode .rz-table tfoot th { border-top: 2px solid #9ca3af; }
.rz-num { text-align: right !important; font-variant-numeric: tabular-nums; }
.rz-bar { width: 60px; height: 8px; background: #e5e7eb; border-radius: 4px; overflow: hidden; }
.rz-bar > div { height: 100%; background: #6366f1; }
.rz-searches td:nth-child(3) { font-family: ui-monospace, monospace; font-size: 11px; white-space: nowrap; }
.rz-compare { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.rz-compare > div { min-width: 0; border: 1px solid #e5e7eb; border-radius: 8px; padding: 8px; }
.rz-notice { border-radius: 6px; padding: 8px 12px; color: #1f2937; background: #eff6ff; border: 1px solid #bfdbfe; }
.rz-notice-warning { background: #fffbeb; border-color: #fcd34d; }
.rz-notice-error { background: #fef2f2; border-color: #fca5a5; }
"""
