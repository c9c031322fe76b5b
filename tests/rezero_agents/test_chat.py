from __future__ import annotations

import pytest

from rezero_agents.chat import ChatFormatter, TemplateMismatchError
from rezero_agents.prompting import FEW_SHOT_MESSAGES
from rezero_env.types import Message

BEFORE: list[Message] = [{"role": "system", "content": "S"}, {"role": "user", "content": "Question: who?"}]
COMPLETION = "<think>Let me look.</think>\n<search>who founded x</search>"
AFTER: list[Message] = [{"role": "user", "content": "<information>\nDoc 1\nY founded x.\n</information>"}]


@pytest.mark.parametrize("with_eos", [False, True])
def test_turn_by_turn_ids_equal_the_rendered_conversation(tokenizer, with_eos: bool) -> None:  # type: ignore[no-untyped-def]
    formatter = ChatFormatter(tokenizer)
    prompt = formatter.prompt_ids(BEFORE)
    completion = formatter.encode(COMPLETION) + ([tokenizer.eos_token_id] if with_eos else [])
    continuation = formatter.continuation_ids(BEFORE, COMPLETION, completion, AFTER)
    whole = formatter.encode(formatter.render([*BEFORE, {"role": "assistant", "content": COMPLETION}, *AFTER]))
    assert prompt + completion + continuation == whole


def test_prefix_messages_follow_the_system_message(tokenizer) -> None:  # type: ignore[no-untyped-def]
    formatter = ChatFormatter(tokenizer, FEW_SHOT_MESSAGES)
    messages = formatter.model_messages(BEFORE)
    assert messages[0] == BEFORE[0] and messages[-1] == BEFORE[1]
    assert messages[1 : 1 + len(FEW_SHOT_MESSAGES)] == list(FEW_SHOT_MESSAGES)


def test_templates_that_rewrite_earlier_turns_are_rejected(tokenizer) -> None:  # type: ignore[no-untyped-def]
    class Rewriting:
        eos_token_id = tokenizer.eos_token_id

        def apply_chat_template(self, messages, tokenize, add_generation_prompt):  # type: ignore[no-untyped-def]
            # keeps only the last assistant message, as some reasoning templates do with earlier thoughts
            last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=-1)
            kept = [m for i, m in enumerate(messages) if m["role"] != "assistant" or i == last]
            return "".join(f"<{m['role']}>{m['content']}" for m in kept) + (
                "<assistant>" if add_generation_prompt else ""
            )

    formatter = ChatFormatter(Rewriting())
    two_turns = [*BEFORE, {"role": "assistant", "content": "a"}, *AFTER]
    with pytest.raises(TemplateMismatchError):
        formatter.continuation_ids(two_turns, "b", [], AFTER)
