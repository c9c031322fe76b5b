"""Episode records as HTML: the transcript as a chat (``<think>``, ``<search>``, ``<information>`` and ``<answer>``
styled apart, each search's results in a ``<details>`` block), the gold answer beside the predicted one, the
searches and the per-term reward table; for episodes of guided training, what the guide did (a banner, and the
assistant turns it wrote marked in the transcript); a turn that ``max_new_tokens`` cut off ("cut at N tokens",
its closing tag never written) is marked on the turn and beside how the episode ended.

Logs hold model output, so every piece of log text is escaped before it is placed in the markup; only the markup
written here is HTML. The styles (:data:`CSS`) use the ``rz-`` class prefix.
"""

from __future__ import annotations

import difflib
import html
import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from rezero_agents.playback.loading import guide_turns, kept_out, origin, predicted_answer
from rezero_agents.records import expand_runs
from rezero_env.prompts import RenderedDocument, parse_information
from rezero_env.protocol import tag_spans

#: Tags of the protocol that get a style of their own, in the order they are looked for.
TAGS = ("think", "search", "answer", "information")
#: What the transcript says of each assistant turn of a guide episode, and of a turn the guide wrote before a
#: branched sample's own.
GUIDE_EPISODE_TURN = "played by the guide (trained off-policy)"
GUIDE_PREFIX_TURN = "written by the guide (context, not trained)"


class Mate(NamedTuple):
    """A group-mate of a training episode: its ``episode_id``, its index id (``number``; None when its log is not
    loaded) and what guidance did with it (:func:`~rezero_agents.playback.loading.guidance_mark`: ``guide``,
    ``prefix k``, …)."""

    episode_id: str
    number: int | None
    mark: str = ""


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


#: Kept for callers that imported it from here: the parser lives beside its writer in :mod:`rezero_env.prompts`.
Document = RenderedDocument


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


def cut_turns(record: Mapping[str, Any]) -> dict[int, int | None]:
    """Assistant turn number → the tokens it generated, for each turn that ``max_new_tokens`` cut (the record's
    ``turns``; none in logs older than the field).

    Example:
        >>> cut_turns({"turns": [{"turn": 1, "tokens": 9, "cut": False}, {"turn": 2, "tokens": 48, "cut": True}]})
        {2: 48}
    """
    turns = record.get("turns")
    found: dict[int, int | None] = {}
    for turn in turns if isinstance(turns, list) else ():
        if isinstance(turn, Mapping) and turn.get("cut") is True and isinstance(turn.get("turn"), int):
            tokens = turn.get("tokens")
            found[int(turn["turn"])] = tokens if isinstance(tokens, int) and not isinstance(tokens, bool) else None
    return found


def _cut_text(tokens: int | None) -> str:
    return f"cut at {tokens} tokens" if tokens is not None else "cut by the token limit"


def render_transcript(
    messages: Sequence[Any],
    searches: Sequence[Any] = (),
    supporting_ids: Sequence[str] = (),
    prefix_messages: Sequence[Any] = (),
    guide_turns: int = 0,
    guide: bool = False,
    cut: Mapping[int, int | None] | None = None,
) -> str:
    """The chat: system prompt and question prompt folded, assistant turns by block, each ``<information>``
    message as an expandable list of its results (with the doc ids of the matching search). ``prefix_messages``
    (the worked examples the policy was shown, not part of the environment's transcript) are folded in after the
    system prompt, where the policy saw them. The first ``guide_turns`` assistant turns are marked as written by the
    guide (context the policy was shown, not trained); with ``guide`` every assistant turn is marked as the
    guide's; the turns in ``cut`` (:func:`cut_turns`) say that ``max_new_tokens`` stopped them."""
    cut = cut or {}
    prefix = [m for m in prefix_messages if isinstance(m, Mapping)]
    prefix_html = ""
    if prefix:
        shown = "".join(
            f'<div class="rz-prefix-msg"><div class="rz-role">{esc(m.get("role", "?"))}</div>'
            f'<div class="rz-pre">{esc(m.get("content", ""))}</div></div>'
            for m in prefix
        )
        prefix_html = (
            f'<details class="rz-msg rz-prefix"><summary>{len(prefix)} prefix message{"s" * (len(prefix) != 1)} the '
            f"policy saw (worked examples, not part of the environment's transcript)</summary>{shown}</details>"
        )
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
            parts.append(prefix_html)
            prefix_html = ""
        elif role == "assistant":
            turn += 1
            kind, note = (
                ("rz-guide-episode", GUIDE_EPISODE_TURN)
                if guide
                else ("rz-guide-turn", GUIDE_PREFIX_TURN)
                if turn <= guide_turns
                else ("", "")
            )
            mark = f' · <span class="rz-guide-tag">guide</span> {esc(note)}' if note else ""
            if turn in cut:
                mark += f' · <span class="rz-cut">✂ {esc(_cut_text(cut[turn]))} (max_new_tokens)</span>'
            parts.append(
                f'<div class="rz-msg rz-assistant{" " + kind if kind else ""}"><div class="rz-role">'
                f"assistant · turn {turn}{mark}</div>{render_message_content(content)}</div>"
            )
        elif role == "user" and not seen_user:
            seen_user = True
            parts.append(prefix_html)  # no system message: the prefix comes first
            prefix_html = ""
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


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def weighted_terms(record: Mapping[str, Any]) -> list[tuple[str, float | None, float | None, float | None, str]]:
    """``(term, raw value, weight, weight × value, why)`` per reward term of a record. The weight comes from the
    record's ``reward_weights`` (schema 2); for older records it is None and so is the weighted value.

    Example:
        >>> weighted_terms({"reward_terms": {"retry": 0.5}, "reward_weights": {"retry": 1.0},
        ...                 "reward_notes": {"retry": "2 searches → 0.2 + 0.15·2"}})
        [('retry', 0.5, 1.0, 0.5, '2 searches → 0.2 + 0.15·2')]
    """
    terms = record.get("reward_terms")
    weights = record.get("reward_weights")
    notes = record.get("reward_notes")
    weights = weights if isinstance(weights, Mapping) else {}
    notes = notes if isinstance(notes, Mapping) else {}
    rows = []
    if isinstance(terms, Mapping):
        for name, raw in terms.items():
            value, weight = _finite(raw), _finite(weights.get(name))
            weighted = value * weight if value is not None and weight is not None else None
            why = notes.get(name)
            rows.append(
                (str(name), value, weight, weighted, str(why) if why else _default_why(record, str(name), value))
            )
    return rows


def _default_why(record: Mapping[str, Any], name: str, value: float | None) -> str:
    if name in ("correctness", "exact_match"):
        messages = record.get("messages") if isinstance(record.get("messages"), list) else []
        predicted = predicted_answer(messages or [])
        if predicted is None:
            return "no answer in the last message"
        return f"judge {'accepted' if value else 'rejected'} “{predicted[:60]}”"
    return ""


def render_rewards(record: Mapping[str, Any]) -> str:
    """The per-term reward table: each term's raw value, its weight, the weighted contribution (so the column adds
    up to the total on screen) and the term's one-line reason; then the total reward."""
    rows = []
    weighted_sum = 0.0
    complete = True
    for name, value, weight, weighted, why in weighted_terms(record):
        share = min(1.0, max(0.0, value)) if value is not None else 0.0
        complete &= weighted is not None
        weighted_sum += weighted or 0.0
        rows.append(
            f"<tr><td>{esc(name)}</td><td class='rz-num rz-raw'>{_number(value)}</td>"
            f"<td class='rz-num rz-weight'>{'×' + _number(weight) if weight is not None else '—'}</td>"
            f"<td class='rz-num rz-weighted'>{_number(weighted) if weighted is not None else '—'}</td>"
            f"<td><div class='rz-bar'><div style='width:{share * 100:.0f}%'></div></div></td>"
            f"<td class='rz-why'>{esc(why)}</td></tr>"
        )
    if not rows:
        rows.append("<tr><td colspan='6'><i>no reward terms logged</i></td></tr>")
        complete = False
    check = ""
    total = _finite(record.get("reward"))
    if complete and total is not None:
        verdict = "= total" if abs(weighted_sum - total) < 1e-6 else "≠ total: terms missing?"
        check = (
            f"<tr class='rz-sum'><td colspan='3'>sum of weighted terms</td><td class='rz-num'>{_number(weighted_sum)}"
            f"</td><td colspan='2'>{verdict}</td></tr>"
        )
    elif rows and not complete and record.get("reward_terms"):
        check = "<tr class='rz-sum'><td colspan='6'><i>weights not logged (schema 1): raw values only</i></td></tr>"
    return (
        '<table class="rz-table rz-rewards"><thead><tr><th>reward term</th><th>value</th><th>weight</th>'
        "<th>weighted</th><th></th><th>why</th></tr></thead>"
        f"<tbody>{''.join(rows)}{check}</tbody><tfoot><tr><th>total reward</th><th></th><th></th>"
        f"<th class='rz-num rz-total'>{_number(record.get('reward', ''))}</th><th></th><th></th></tr></tfoot></table>"
    )


def render_searches(searches: Sequence[Any], guide_turns: int = 0) -> str:
    """The searches of an episode: turn, query, returned doc ids, error; a search of the first ``guide_turns``
    turns (the guide wrote them, before a branched sample's own) is tagged "guide"."""

    def by_guide(search: Mapping[str, Any]) -> str:
        turn = search.get("turn")
        if isinstance(turn, int) and not isinstance(turn, bool) and 0 < turn <= guide_turns:
            return ' <span class="rz-guide-tag">guide</span>'
        return ""

    rows = [
        f"<tr><td class='rz-num'>{esc(s.get('turn', ''))}{by_guide(s)}</td><td>{esc(s.get('query', ''))}</td>"
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
    for key in ("run_id", "phase", "stage", "step", "split", "group", "policy", "model", "checkpoint", "num_turns"):
        value = record.get(key)
        if value is not None and value != "" and not (key == "step" and value == -1):
            items.append(f"<span><b>{esc(key)}</b> {esc(value)}</span>")
    ending = [name for name in ("terminated", "truncated", "cut") if record.get(name) is True]
    if ending:
        items.append(f"<span><b>ended</b> {esc(', '.join(ending))}</span>")
    cut = cut_turns(record)
    if cut:
        shown = "; ".join(f"turn {turn} {_cut_text(tokens)}" for turn, tokens in sorted(cut.items()))
        items.append(
            f'<span class="rz-cut-meta"><b>token limit</b> {esc(shown)} (its tag left open: the reward rules read '
            "that message as it was cut)</span>"
        )
    tokens = record.get("num_tokens")
    if tokens:
        items.append(
            f"<span><b>tokens</b> {esc(tokens)} ({esc(record.get('num_generated_tokens', '?'))} generated)</span>"
        )
    if location:
        items.append(f"<span><b>log</b> <code>{esc(location)}</code></span>")
    return f'<div class="rz-meta">{"".join(items)}</div>'


def loss_mask(record: Mapping[str, Any]) -> list[int] | None:
    """The record's loss mask (decoded from ``learner.loss_mask_runs``), or None when it was not logged."""
    learner = record.get("learner")
    if not isinstance(learner, Mapping) or not isinstance(learner.get("loss_mask_runs"), list):
        return None
    try:
        return expand_runs(learner["loss_mask_runs"])
    except (TypeError, ValueError):
        return None


def render_tokens(record: Mapping[str, Any]) -> str:
    """The token overlay: every token of the sequence the learner trained on, trained tokens (loss mask 1)
    highlighted, masked ones (the prompt, the prefix, every ``<information>`` block, the template's markers) plain;
    hovering a trained token shows its sampled log-prob and, when logged, its ratio. A guide episode's trained
    tokens are the guide's text (no sampling log-prob); a branched sample's guide-written turns are masked.
    "" without logged tokens."""
    learner = record.get("learner")
    mask = loss_mask(record)
    if not isinstance(learner, Mapping) or mask is None:
        return ""
    tokens = learner.get("tokens")
    trained = sum(mask)
    logprobs: list[Any] = learner["logprobs"] if isinstance(learner.get("logprobs"), list) else []
    ratios: list[Any] = learner["ratios"] if isinstance(learner.get("ratios"), list) else []
    by_guide = origin(record) == "guide"
    prefix = guide_turns(record)
    head = (
        f'<div class="rz-caption">{len(mask):,} tokens · <b class="rz-trained-count">{trained:,}</b> trained '
        + (
            "(highlighted: the guide's text, trained off-policy; it has no sampling log-prob)"
            if by_guide
            else "(highlighted; hover for the log-prob)"
        )
        + " · the rest masked out of the loss"
        + (
            f" (grey), the guide's {f'{prefix} turns' if prefix != 1 else 'turn'} included"
            if prefix and not by_guide
            else ""
        )
        + "</div>"
    )
    if not isinstance(tokens, list) or len(tokens) != len(mask):
        return f'<div class="rz-tokens">{head}<i>token texts not logged</i></div>'
    spans = []
    position = 0
    for text, bit in zip(tokens, mask, strict=True):
        if bit:
            if by_guide:
                parts = ["written by the guide · no sampling log-prob"]
            else:
                parts = [f"log-prob {_number(logprobs[position])}" if position < len(logprobs) else "log-prob ?"]
            if position < len(ratios):
                parts.append(f"ratio {_number(ratios[position])}")
            spans.append(f'<span class="rz-tok rz-tok-trained" title="{esc(" · ".join(parts))}">{esc(text)}</span>')
            position += 1
        else:
            spans.append(f'<span class="rz-tok rz-tok-masked">{esc(text)}</span>')
    return f'<div class="rz-tokens">{head}<div class="rz-token-text">{"".join(spans)}</div></div>'


def render_learner(record: Mapping[str, Any], mates: Sequence[Mate] = ()) -> str:
    """What the learner did with a training episode: its advantage, its group's reward mean and std, and links to
    the group-mates (``mates``; a link sets the episode number), each tagged with what guidance did with it (the
    guide's episode, a branched sample). "" for records without a ``learner`` section."""
    learner = record.get("learner")
    if not isinstance(learner, Mapping):
        return ""
    advantage = _finite(learner.get("advantage"))
    sign = "rz-pos" if (advantage or 0) > 0 else "rz-neg" if (advantage or 0) < 0 else "rz-zero"
    own = str(record.get("episode_id") or "")
    links = []
    for mate_id, index, mark in mates:
        tag = f'<span class="rz-guide-tag rz-mate-mark">{esc(mark)}</span>' if mark else ""
        if mate_id == own:
            links.append(f'<span class="rz-mate-self">{esc(mate_id)} (this){tag}</span>')
        elif index is None:
            links.append(f'<span class="rz-mate-missing">{esc(mate_id)}{tag}</span>')
        else:
            links.append(f'<a href="#" class="rz-mate" data-episode="{int(index)}">#{int(index)}</a>{tag}')
    return (
        '<div class="rz-learner">'
        f'<span><b>advantage</b> <span class="rz-advantage {sign}">{_number(advantage)}</span></span>'
        f"<span><b>group reward</b> mean {_number(_finite(learner.get('group_reward_mean')))} · std "
        f"{_number(_finite(learner.get('group_reward_std')))}</span>"
        + (f'<span class="rz-mates"><b>group</b> {" ".join(links)}</span>' if links else "")
        + "</div>"
    )


def render_guidance(record: Mapping[str, Any]) -> str:
    """A banner for what guidance did with an episode: played by the guide, sampled by the policy after the
    guide's first turns (a branched sample), or kept out of the update; "" for a plain policy sample (and for every
    record older than guidance)."""
    notes = []
    kind = origin(record)
    if kind == "guide":
        notes.append(
            (
                "guide",
                "guide",
                "Played by the guide (the scripted searcher by default), trained off-policy — not sampled by the "
                "policy.",
            )
        )
    elif kind == "prefix":
        turns = guide_turns(record)
        notes.append(
            (
                "prefix",
                f"prefix {turns}",
                "Branched sample: the first "
                + (f"{turns} assistant turns were" if turns != 1 else "assistant turn was")
                + " written by the guide and shown to the policy as context (loss mask 0, not trained); the policy "
                "sampled the rest.",
            )
        )
    if kept_out(record):
        notes.append(
            (
                "kept",
                "not trained",
                "Kept out of the update: the guide's episode replaced this sample in its group (logged with "
                "advantage 0).",
            )
        )
    return "".join(
        f'<div class="rz-guidance rz-guidance-{name}"><span class="rz-guide-tag">{esc(tag)}</span> {esc(text)}</div>'
        for name, tag, text in notes
    )


def render_episode(
    record: Mapping[str, Any],
    location: str | None = None,
    compact: bool = False,
    mates: Sequence[Mate] = (),
    flags: Sequence[str] = (),
) -> str:
    """One episode: question, what guidance did with it (:func:`render_guidance`), gold vs predicted answer, run
    details, what the learner did with it (advantage, group-mates: ``mates``), reward-hack hints (``flags``), reward
    table, searches, transcript and token overlay. ``compact`` stacks everything in one column (for the compare
    view)."""
    task = record.get("task") if isinstance(record.get("task"), Mapping) else {}
    assert isinstance(task, Mapping)
    searches = record.get("searches") if isinstance(record.get("searches"), list) else []
    messages = record.get("messages") if isinstance(record.get("messages"), list) else []
    assert isinstance(searches, list) and isinstance(messages, list)
    hints = "".join(f'<span class="rz-flag">⚠ {esc(flag)}</span>' for flag in flags)
    head = (
        f'<div class="rz-head"><div class="rz-title">{esc(task.get("question", ""))}</div>'
        f'<div class="rz-task">task <code>{esc(task.get("id", ""))}</code>{hints}</div>{render_guidance(record)}'
        f"{_answers(record)}{_meta(record, location)}{render_learner(record, mates)}</div>"
    )
    side = (
        f'<div class="rz-side"><h4>Rewards</h4>{render_rewards(record)}'
        f"<h4>Searches ({len(searches)})</h4>{render_searches(searches, guide_turns(record))}</div>"
    )
    prefix = record.get("prefix_messages") if isinstance(record.get("prefix_messages"), list) else []
    tokens = render_tokens(record)
    transcript = (
        '<div class="rz-main"><h4>Transcript</h4>'
        + render_transcript(
            messages,
            searches,
            task.get("supporting_ids") or [],
            prefix or [],
            guide_turns=guide_turns(record),
            guide=origin(record) == "guide",
            cut=cut_turns(record),
        )
        + (f"<h4>Tokens the learner saw</h4>{tokens}" if tokens else "")
        + "</div>"
    )
    layout = "rz-compact" if compact else "rz-wide"
    return f'<div class="rz-episode">{head}<div class="rz-body {layout}">{transcript}{side}</div></div>'


def render_compare(left: str, right: str, summary: str = "") -> str:
    """Two rendered episodes side by side, below an optional :func:`render_compare_summary`."""
    return f'{summary}<div class="rz-compare"><div>{left}</div><div>{right}</div></div>'


def word_diff(left: str, right: str) -> tuple[str, str]:
    """``left`` and ``right`` as HTML with the words only one of them has highlighted (``<del>`` on the left,
    ``<ins>`` on the right); the text is escaped.

    Example:
        >>> word_diff("Ada Lovelace", "Ada Byron")
        ('Ada <del>Lovelace</del>', 'Ada <ins>Byron</ins>')
    """
    a, b = left.split(), right.split()
    out_left, out_right = [], []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        chunk_left, chunk_right = esc(" ".join(a[i1:i2])), esc(" ".join(b[j1:j2]))
        if op == "equal":
            out_left.append(chunk_left)
            out_right.append(chunk_right)
            continue
        if chunk_left:
            out_left.append(f"<del>{chunk_left}</del>")
        if chunk_right:
            out_right.append(f"<ins>{chunk_right}</ins>")
    return " ".join(out_left), " ".join(out_right)


def render_compare_summary(left: Mapping[str, Any], right: Mapping[str, Any]) -> str:
    """Above a comparison: each reward term's weighted value on both sides and the delta (right − left), the total
    and its delta, and the two answers and query lists with their differing words highlighted."""
    lefts = {
        name: (weighted if weighted is not None else value) for name, value, _, weighted, _ in weighted_terms(left)
    }
    rights = {
        name: (weighted if weighted is not None else value) for name, value, _, weighted, _ in weighted_terms(right)
    }
    rows = []
    for name in [*lefts, *(n for n in rights if n not in lefts)]:
        a, b = lefts.get(name), rights.get(name)
        delta = b - a if a is not None and b is not None else None
        rows.append(
            f"<tr><td>{esc(name)}</td><td class='rz-num'>{_number(a)}</td><td class='rz-num'>{_number(b)}</td>"
            f"<td class='rz-num rz-delta {_delta_class(delta)}'>{_signed(delta)}</td></tr>"
        )
    total_a, total_b = _finite(left.get("reward")), _finite(right.get("reward"))
    total_delta = total_b - total_a if total_a is not None and total_b is not None else None
    table = (
        '<table class="rz-table rz-delta-table"><thead><tr><th>reward term (weighted)</th><th>left</th><th>right</th>'
        f"<th>Δ right − left</th></tr></thead><tbody>{''.join(rows)}</tbody><tfoot><tr><th>total reward</th>"
        f"<th class='rz-num'>{_number(total_a)}</th><th class='rz-num'>{_number(total_b)}</th>"
        f"<th class='rz-num rz-delta rz-delta-total {_delta_class(total_delta)}'>{_signed(total_delta)}</th></tr>"
        "</tfoot></table>"
    )
    answers = [predicted_answer(r["messages"] if isinstance(r.get("messages"), list) else []) for r in (left, right)]
    answer_left, answer_right = word_diff(answers[0] or "", answers[1] or "")
    queries = [
        [str(s.get("query", "")) for s in (r.get("searches") or []) if isinstance(s, Mapping)] for r in (left, right)
    ]
    query_rows = []
    for position in range(max(len(queries[0]), len(queries[1]))):
        qa = queries[0][position] if position < len(queries[0]) else ""
        qb = queries[1][position] if position < len(queries[1]) else ""
        da, db = word_diff(qa, qb)
        query_rows.append(f"<tr><td class='rz-num'>{position + 1}</td><td>{da}</td><td>{db}</td></tr>")
    diff = (
        '<table class="rz-table rz-diff"><thead><tr><th></th><th>left</th><th>right</th></tr></thead><tbody>'
        f"<tr class='rz-diff-answer'><td>answer</td><td>{answer_left or '<i>none</i>'}</td>"
        f"<td>{answer_right or '<i>none</i>'}</td></tr>"
        + "".join(query_rows).replace("<tr><td class='rz-num'>", "<tr class='rz-diff-query'><td class='rz-num'>")
        + "</tbody></table>"
    )
    return f'<div class="rz-compare-summary">{table}{diff}</div>'


def _signed(value: float | None) -> str:
    if value is None:
        return "—"
    return ("+" if value > 0 else "") + _number(value)


def _delta_class(value: float | None) -> str:
    if value is None or abs(value) < 1e-9:
        return "rz-zero"
    return "rz-pos" if value > 0 else "rz-neg"


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
.rz-wide { grid-template-columns: minmax(0, 2fr) minmax(300px, 1fr); }
.rz-side { min-width: 0; overflow-x: auto; }
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
.rz-prefix { color: #6b7280; font-size: 12px; border-left: 4px dashed #a78bfa; }
.rz-prefix-msg { border-top: 1px dashed #ddd6fe; padding: 3px 0; }
.rz-learner { display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 13px; margin-top: 6px; padding: 4px 8px;
  background: #eef2ff; border: 1px solid #c7d2fe; border-radius: 6px; }
.rz-advantage { font-weight: 700; font-variant-numeric: tabular-nums; }
.rz-pos { color: #15803d; } .rz-neg { color: #b91c1c; } .rz-zero { color: #6b7280; }
.rz-mates a, .rz-mate-self, .rz-mate-missing, .rz-mate-mark { margin-right: 6px; }
.rz-mates a:has(+ .rz-mate-mark) { margin-right: 3px; }
.rz-mate { color: #4338ca; font-weight: 700; text-decoration: underline; cursor: pointer; }
.rz-mate-self { color: #6b7280; }
.rz-guide-tag { display: inline-block; background: #0f766e; color: #fff; border-radius: 4px; font-size: 10px;
  font-weight: 700; text-transform: uppercase; letter-spacing: .04em; padding: 0 5px; vertical-align: 1px; }
.rz-mate-self .rz-guide-tag, .rz-mate-missing .rz-guide-tag { margin-left: 3px; }
.rz-guidance { margin: 4px 0 6px; padding: 5px 10px; border-radius: 6px; font-size: 13px; background: #f0fdfa;
  border: 1px solid #5eead4; color: #134e4a; }
.rz-guidance-prefix { background: #f9fafb; border-color: #d1d5db; color: #374151; }
.rz-guidance-kept { background: #fffbeb; border-color: #fcd34d; color: #78350f; }
.rz-guidance-kept .rz-guide-tag { background: #b45309; }
.rz-guide-episode { border-left-color: #0f766e; background: #f0fdfa; }
.rz-guide-turn { border-left: 4px dashed #9ca3af; background: #f9fafb; color: #6b7280; }
.rz-flag { background: #fee2e2; color: #991b1b; border-radius: 4px; font-size: 11px; padding: 0 5px; margin-left: 8px; }
.rz-why { font-size: 11px; color: #4b5563; overflow-wrap: anywhere; }
.rz-side .rz-table td { overflow-wrap: anywhere; }
.rz-cut { background: #fee2e2; color: #991b1b; border-radius: 4px; padding: 0 5px; font-weight: 700;
  text-transform: none; letter-spacing: 0; }
.rz-cut-meta { color: #991b1b; }
.rz-sum td { font-size: 11px; color: #4b5563; }
.rz-tokens { border: 1px solid #e5e7eb; border-radius: 6px; padding: 6px 8px; }
.rz-token-text { font-family: ui-monospace, monospace; font-size: 11px; white-space: pre-wrap; word-break: break-all;
  line-height: 1.6; }
.rz-tok-masked { color: #9ca3af; }
.rz-tok-trained { background: #c7d2fe; color: #1e1b4b; border-bottom: 1px solid #6366f1; }
.rz-compare-summary { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1.4fr); gap: 16px;
  margin-bottom: 10px; font-family: ui-sans-serif, system-ui, sans-serif; font-size: 13px; }
.rz-compare-summary .rz-table { border-collapse: collapse; width: 100%; }
.rz-compare-summary td, .rz-compare-summary th { border-bottom: 1px solid #e5e7eb; padding: 3px 6px; text-align: left; }
.rz-delta { font-weight: 700; }
.rz-diff del { background: #fee2e2; color: #991b1b; text-decoration: line-through; }
.rz-diff ins { background: #dcfce7; color: #14532d; text-decoration: none; }
"""
