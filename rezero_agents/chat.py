"""Token ids of a multi-turn conversation, built turn by turn so the learner trains on exactly what was sampled.

A chat template renders the whole transcript as text; re-tokenising that text after every turn can split the
assistant's words differently from how they were sampled. Instead the episode's ids grow by appending: the sampled
completion ids (trainable), then the ids of the template text that follows them — end of the assistant turn, the
environment's next message, the next generation prompt (not trainable). This needs a template whose rendering of a
longer conversation starts with the rendering of a shorter one (ChatML, Llama 3, Qwen 2.5 and most others); a
template that rewrites earlier turns is rejected with a clear error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rezero_env.types import Message


class TemplateMismatchError(ValueError):
    """The chat template rewrites earlier turns, so the conversation cannot be extended token by token."""


class ChatFormatter:
    """Renders conversations with ``tokenizer``'s chat template into token ids.

    Args:
        tokenizer: A Hugging Face tokenizer with a chat template.
        prefix_messages: Messages inserted after the system message of every conversation (e.g. few-shot
            examples as user/assistant turns); they are prompt, never trained on.
    """

    def __init__(self, tokenizer: Any, prefix_messages: Sequence[Message] = ()) -> None:
        self.tokenizer = tokenizer
        self.prefix_messages = list(prefix_messages)
        self.eos_token_id: int | None = tokenizer.eos_token_id

    def model_messages(self, messages: Sequence[Message]) -> list[Message]:
        """The conversation the model sees: the env's system message, the prefix messages, then the rest."""
        messages = list(messages)
        head = messages[:1] if messages and messages[0]["role"] == "system" else []
        return head + self.prefix_messages + messages[len(head) :]

    def render(self, messages: Sequence[Message], generation_prompt: bool = True) -> str:
        text: str = self.tokenizer.apply_chat_template(
            self.model_messages(messages), tokenize=False, add_generation_prompt=generation_prompt
        )
        return text

    def encode(self, text: str) -> list[int]:
        ids: list[int] = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return ids

    def prompt_ids(self, messages: Sequence[Message]) -> list[int]:
        """Ids of the conversation so far, ending with the generation prompt of an assistant turn."""
        return self.encode(self.render(messages))

    def continuation_ids(
        self, before: Sequence[Message], completion: str, completion_ids: Sequence[int], after: Sequence[Message]
    ) -> list[int]:
        """Ids that follow a sampled completion: the rest of the assistant turn, the messages ``after`` it and the
        next generation prompt.

        Args:
            before: The conversation the completion answered.
            completion: The completion's text (the assistant message given to the environment).
            completion_ids: The sampled ids (they may end with the end-of-turn token).
            after: The messages the environment added (e.g. the ``<information>`` message).
        """
        assistant = Message(role="assistant", content=completion)
        head = self.render(before) + completion
        full = self.render([*before, assistant, *after])
        if not full.startswith(head):
            raise TemplateMismatchError(
                "The chat template does not render a longer conversation as an extension of a shorter one "
                "(it rewrites earlier turns), so turns cannot be appended token by token"
            )
        tail = full[len(head) :]
        if completion_ids and completion_ids[-1] == self.eos_token_id:
            eos_text = self.tokenizer.decode([self.eos_token_id])
            if tail.startswith(eos_text):
                tail = tail[len(eos_text) :]
        return self.encode(tail)

    def assistant_turn_ids(self, before: Sequence[Message], content: str) -> tuple[list[int], list[int]]:
        """For supervised fine-tuning: ``(prompt_ids, target_ids)`` where the targets are the assistant message
        followed by the template's end-of-turn text up to and including the first end-of-turn token."""
        head = self.render(before)
        full = self.render([*before, Message(role="assistant", content=content)], generation_prompt=False)
        if not full.startswith(head):
            raise TemplateMismatchError("The chat template rewrites earlier turns")
        target = self.encode(full[len(head) :])
        if self.eos_token_id in target:
            target = target[: target.index(self.eos_token_id) + 1]
        return self.encode(head), target
