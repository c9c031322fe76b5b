"""TRL's GRPOTrainer trains on SearchQA-v0 through the adapter: rewards per env term, information never trained on."""

from __future__ import annotations

import itertools
import json
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest

import rezero_env  # noqa: F401
from rezero_agents.chat import ChatFormatter
from rezero_agents.integrations.trl import (
    TOOL_PROMPT_TEMPLATE,
    RewardTermFunction,
    SearchQAToolEnv,
    TRLAdapter,
    env_reward_terms,
    episodes_to_trl,
)
from rezero_agents.policy import Completion, SamplingConfig
from rezero_agents.records import expand_runs
from rezero_agents.rollout import collect_episodes
from rezero_env.envs.factory import make_search_qa
from rezero_env.rewards.base import RewardTerm
from rezero_env.rewards.presets import REWARD_PRESETS
from rezero_env.types import Message, Task

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

ENV_ID = "RezeroTest/SearchQA-TRL-v0"
#: Short prompts keep the tiny-model steps fast.
SHORT = {"max_turns": 2, "top_k": 1, "system_prompt": None, "prompt_template": "{question}"}
CHATML_INFORMATION = re.compile(
    r"<\|im_end\|>\n<\|im_start\|>user\n<information>\n.+\n</information><\|im_end\|>\n<\|im_start\|>assistant\n",
    re.DOTALL,
)


class LengthReward(RewardTerm):
    """Characters the assistant wrote, mod 7 (so random samples get different rewards and GRPO has advantages)."""

    name = "length"

    def score(self, messages: Sequence[Message], task: Task) -> float:
        return float(sum(len(m["content"]) for m in messages if m["role"] == "assistant") % 7) / 6


def make_env(**kwargs: Any) -> gym.Env[str, str]:
    return LengthReward(make_search_qa(reward="rezero", **kwargs))  # type: ignore[arg-type]


if ENV_ID not in gym.registry:
    gym.register(ENV_ID, entry_point=make_env)

TERMS = [cls.name for cls, _ in REWARD_PRESETS["rezero"]] + ["length"]


def searching_model(tokenizer: Any, chain: Sequence[int], p_follow: float = 0.95) -> Any:
    """A 1-layer Llama whose next token depends only on the current one (attention and MLP outputs are zeroed):
    after ``chain[i]`` it samples ``chain[i + 1]`` with probability ≈ ``p_follow`` at temperature 1, else any token.
    With ``chain`` = end of the generation prompt + ``<search>river</search>`` it searches in some samples and not in
    others — a random tiny model never writes a search, so its rollouts would hold no information to mask."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=2,
        tie_word_embeddings=False,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    margin = math.log(p_follow / (1 - p_follow) * len(tokenizer))
    with torch.no_grad():
        model.model.layers[0].self_attn.o_proj.weight.zero_()
        model.model.layers[0].mlp.down_proj.weight.zero_()
        model.lm_head.weight.normal_(0, 1e-3)
        directions: dict[int, int] = {}
        for token, successor in itertools.pairwise(chain):
            direction = directions.setdefault(token, len(directions))
            model.model.embed_tokens.weight[token] = torch.nn.functional.one_hot(torch.tensor(direction), 32)
            # after the final RMSNorm the hidden state is sqrt(32) * one-hot
            model.lm_head.weight[successor, direction] = margin / math.sqrt(32)
    return model


def zero_runs(values: Sequence[int]) -> list[tuple[int, int]]:
    """``(start, end)`` of each maximal run of zeros."""
    runs, start = [], None
    for index, value in enumerate([*values, 1]):
        if value == 0 and start is None:
            start = index
        elif value != 0 and start is not None:
            runs.append((start, index))
            start = None
    return runs


# --- reward terms as TRL reward functions ------------------------------------------------------------------------


def test_reward_functions_are_the_env_terms_with_the_preset_weights() -> None:
    adapter = TRLAdapter("SearchQA-v0", {"split": "test"})
    preset = REWARD_PRESETS["rezero"]
    assert [f.__name__ for f in adapter.reward_funcs] == [cls.name for cls, _ in preset]
    assert adapter.reward_weights == [weight for _, weight in preset]
    assert env_reward_terms(gym.make(ENV_ID))[-1] == ("length", 1.0)
    with pytest.raises(ValueError, match="no reward terms"):
        TRLAdapter("SearchQA-v0", {"reward": "none"})


def test_reward_function_reads_its_term() -> None:
    retry = RewardTermFunction("retry")
    assert retry(completions=["a", "b"], reward_terms=[{"retry": 1.0}, {"format": 1.0}]) == [1.0, None]
    with pytest.raises(ValueError, match="reward_terms"):
        retry(completions=["a"])


# --- the dataset -------------------------------------------------------------------------------------------------


def test_train_dataset_holds_the_env_prompts_and_task_ids() -> None:
    adapter = TRLAdapter("SearchQA-v0", {"split": "test"})
    dataset = adapter.train_dataset()
    env = gym.make("SearchQA-v0", split="test")
    assert len(dataset) == len(env.unwrapped.tasks)  # type: ignore[attr-defined]
    row = dataset[5]
    _, info = env.reset(options={"task_id": row["task_id"]})
    assert row["prompt"] == info["messages"]
    assert adapter.task_id(row["prompt"]) == row["task_id"]

    sample = adapter.train_dataset(max_tasks=3, seed=1)
    assert len(sample) == 3 and set(sample["task_id"]) <= set(dataset["task_id"])
    assert sample["task_id"] == adapter.train_dataset(max_tasks=3, seed=1)["task_id"]


def test_prompts_that_are_not_env_questions_are_rejected() -> None:
    adapter = TRLAdapter("SearchQA-v0", {"split": "test"})
    with pytest.raises(KeyError, match="not a question of SearchQA-v0"):
        adapter.task_id([{"role": "user", "content": "What is 2 + 2?"}])
    with pytest.raises(TypeError, match="conversational prompts"):
        adapter.task_id("What is 2 + 2?")


# --- episodes as TRL rollouts ------------------------------------------------------------------------------------


class ScriptedTokenPolicy:
    """Writes a search, then an answer ended by a stop string (no end-of-turn token)."""

    MESSAGES = ("<think>I will search.</think>\n<search>Velmora river</search>", "<answer>Nowhere</answer>")

    def __init__(self, formatter: ChatFormatter) -> None:
        self.formatter = formatter
        self.calls = 0

    def generate(
        self, prompts: Sequence[Sequence[int]], sampling: SamplingConfig, seed: int | None = None
    ) -> list[Completion]:
        text = self.MESSAGES[self.calls]
        self.calls += 1
        ids = self.formatter.encode(text)
        return [Completion(text, ids, [-0.5] * len(ids), "stop") for _ in prompts]


def test_env_mask_zeroes_exactly_the_information_messages(tokenizer: Any) -> None:
    formatter = ChatFormatter(tokenizer)
    [episode] = collect_episodes([gym.make("SearchQA-v0", max_turns=4)], ScriptedTokenPolicy(formatter), [{}])
    output = episodes_to_trl([episode], formatter)
    prompt, completion, mask = output["prompt_ids"][0], output["completion_ids"][0], output["env_mask"][0]

    assert prompt + completion[:-1] == episode.token_ids
    assert tokenizer.decode(prompt) == formatter.render(episode.messages[:2])
    trained = tokenizer.decode([t for t, m in zip(completion, mask, strict=True) if m])
    assert trained == "".join(ScriptedTokenPolicy.MESSAGES)
    information, end_of_turn = zero_runs(mask)
    assert CHATML_INFORMATION.fullmatch(tokenizer.decode(completion[slice(*information)]))
    assert episode.messages[3]["content"] in tokenizer.decode(completion[slice(*information)])
    # an answer ended by a stop string gets the end-of-turn token (not trained on), so TRL does not see it clipped
    assert completion[slice(*end_of_turn)] == [tokenizer.eos_token_id]
    assert [lp for lp, m in zip(output["logprobs"][0], mask, strict=True) if m] == [-0.5] * sum(mask)
    assert output["reward_terms"][0] == episode.reward_terms and output["task_id"][0] == episode.task.id


# --- one GRPOTrainer step ----------------------------------------------------------------------------------------


def test_one_trl_grpo_step_trains_on_the_env(tokenizer: Any, tmp_path: Path) -> None:
    import torch
    from trl import GRPOConfig, GRPOTrainer

    log = str(tmp_path / "episodes.jsonl")  # a str, as in the README (issue 27, item 3: it crashed inside the step)
    adapter = TRLAdapter(ENV_ID, SHORT, max_new_tokens=12, episode_log=log)
    dataset = adapter.train_dataset(max_tasks=2)
    formatter = ChatFormatter(tokenizer)
    chain = [formatter.prompt_ids(dataset[0]["prompt"])[-1], *formatter.encode("<search>river</search>")]
    model = searching_model(tokenizer, chain)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    rollouts: list[dict[str, list[Any]]] = []

    def rollout_func(prompts: list[Any], trainer: Any) -> dict[str, list[Any]]:
        rollouts.append(adapter.rollout_func(prompts, trainer))
        return rollouts[-1]

    config = GRPOConfig(
        output_dir=str(tmp_path),
        per_device_train_batch_size=8,
        num_generations=4,
        max_completion_length=256,
        max_steps=1,
        learning_rate=1e-2,
        temperature=1.0,
        reward_weights=adapter.reward_weights,
        gradient_checkpointing=False,
        logging_steps=1,
        use_cpu=True,
        bf16=False,
        report_to="none",
        save_strategy="no",
        seed=0,
    )
    trainer = GRPOTrainer(
        model=model,
        processing_class=tokenizer,
        reward_funcs=adapter.reward_funcs,
        args=config,
        train_dataset=dataset,
        rollout_func=rollout_func,
    )
    trainer.train()

    assert any(not torch.equal(before[name], p) for name, p in model.named_parameters())
    logs = trainer.state.log_history[0]
    assert {f"rewards/{term}/mean" for term in TERMS} <= set(logs)
    [output] = rollouts
    expected = sum(
        w * terms[t] for w, t in zip(adapter.reward_weights, TERMS, strict=True) for terms in output["reward_terms"]
    ) / len(output["reward_terms"])
    assert logs["reward"] == pytest.approx(expected, abs=1e-4)
    searched = 0
    for completion, mask in zip(output["completion_ids"], output["env_mask"], strict=True):
        trained = tokenizer.decode([t for t, m in zip(completion, mask, strict=True) if m])
        assert "<information>" not in trained
        for run in zero_runs(mask):
            if run == (len(mask) - 1, len(mask)) and completion[-1] == tokenizer.eos_token_id:
                continue  # the end of a turn that ended on a stop string
            text = tokenizer.decode(completion[slice(*run)])
            searched += 1
            assert CHATML_INFORMATION.fullmatch(text), text
    assert searched > 0, "no rollout searched: nothing was masked"
    # the log carries what TRL used, under TRL's step numbering, so playback shows the advantage and the overlay
    records = [json.loads(line) for line in (tmp_path / "episodes.jsonl").read_text().splitlines()]
    assert len(records) == 8 and {r["step"] for r in records} == {trainer.state.log_history[0]["step"]} == {1}
    assert [r["learner"]["advantage"] for r in records] == pytest.approx(list(trainer._logs["advantages"]), abs=1e-4)
    for record, mask in zip(records, output["env_mask"], strict=True):
        learner = record["learner"]
        assert len(learner["group_members"]) == 4 and record["episode_id"] in learner["group_members"]
        loss_mask = expand_runs(learner["loss_mask_runs"])  # the prompt's zeros, then TRL's env mask
        prompt = len(loss_mask) - len(mask)
        assert loss_mask[prompt:] == mask or loss_mask[prompt + 1 :] == mask[:-1]  # (+ an end of turn TRL got)
        assert len(learner["tokens"]) == record["num_tokens"] == len(loss_mask)
        assert len(learner["logprobs"]) == sum(loss_mask) == record["num_generated_tokens"]


# --- environment_factory (tool calling) --------------------------------------------------------------------------


def test_tool_env_searches_and_scores_the_episode() -> None:
    env = SearchQAToolEnv(gym.make("SearchQA-v0", split="test", max_turns=2))
    task = gym.make("SearchQA-v0", split="test").unwrapped.tasks[0]  # type: ignore[attr-defined]
    env.reset(task_id=task.id, prompt=[{"role": "user", "content": "..."}])
    assert env.task_id == task.id
    results = env.search(task.question)
    assert results.startswith("<information>") and "Doc 1" in results

    answer = f"<think>Found it.</think>\n<answer>{task.answers[0]}</answer>"
    completion = [{"role": "assistant", "content": "", "tool_calls": []}, {"role": "assistant", "content": answer}]
    terms = {name: RewardTermFunction(name)(completions=[completion], environments=[env])[0] for name in TERMS[:2]}
    assert terms == {"correctness": 1.0, "format": 1.0}

    env.reset(task_id=task.id)
    env.search("first")
    env.search("second")  # max_turns reached: the episode is over
    with pytest.raises(RuntimeError, match="No searches are left"):
        env.search("third")
    assert RewardTermFunction("correctness")(completions=[[]], environments=[env]) == [0.0]


def test_tool_prompt_template_is_used_by_the_dataset() -> None:
    adapter = TRLAdapter("SearchQA-v0", {"split": "test", "prompt_template": TOOL_PROMPT_TEMPLATE})
    prompt = adapter.train_dataset(max_tasks=1)[0]["prompt"]
    assert "search tool" in prompt[-1]["content"] and "<search>" not in prompt[-1]["content"]


def scripted_tool_caller(tokenizer: Any, answer: str) -> Any:
    """A tiny random Llama whose ``generate`` is scripted (its forward pass, which TRL trains, is the real one): it
    calls the ``search`` tool, and once a tool response is in its input it answers."""
    import torch
    from transformers import LlamaForCausalLM

    from rezero_agents.models import TINY_MODEL, resolve_model

    call = '<tool_call>\n{"name": "search", "arguments": {"query": "river"}}\n</tool_call>'
    replies = {
        False: [*tokenizer.encode(call, add_special_tokens=False), tokenizer.eos_token_id],
        True: [*tokenizer.encode(answer, add_special_tokens=False), tokenizer.eos_token_id],
    }

    class ScriptedToolCaller(LlamaForCausalLM):  # type: ignore[misc]
        def generate(self, input_ids: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            rows = [replies["<tool_response>" in tokenizer.decode(row)] for row in input_ids.tolist()]
            width = max(len(row) for row in rows)
            rows = [row + [tokenizer.pad_token_id] * (width - len(row)) for row in rows]
            return torch.cat([input_ids, torch.tensor(rows, device=input_ids.device)], dim=1)

    return ScriptedToolCaller.from_pretrained(resolve_model(TINY_MODEL))


def test_one_trl_grpo_step_with_the_search_tool(tmp_path: Path) -> None:
    from trl import GRPOConfig, GRPOTrainer
    from trl.chat_template_utils import qwen2_5_chat_template, supports_tool_calling

    from rezero_agents.models import TINY_MODEL, load_tokenizer

    tokenizer = load_tokenizer(TINY_MODEL)
    tokenizer.chat_template = qwen2_5_chat_template  # ChatML with tool calls: SmolLM2's own template has none
    assert supports_tool_calling(tokenizer)
    env_kwargs = {**SHORT, "prompt_template": TOOL_PROMPT_TEMPLATE}
    adapter = TRLAdapter("SearchQA-v0", env_kwargs)
    dataset = adapter.train_dataset(max_tasks=1)
    task = gym.make("SearchQA-v0", **env_kwargs).unwrapped.dataset.task(dataset[0]["task_id"])  # type: ignore[attr-defined]
    answer = f"<think>Found it.</think>\n<answer>{task.answers[0]}</answer>"
    config = GRPOConfig(
        output_dir=str(tmp_path),
        per_device_train_batch_size=2,
        num_generations=2,
        max_completion_length=256,
        max_steps=1,
        reward_weights=adapter.reward_weights,
        gradient_checkpointing=False,
        logging_steps=1,
        use_cpu=True,
        bf16=False,
        report_to="none",
        save_strategy="no",
    )
    trainer = GRPOTrainer(
        model=scripted_tool_caller(tokenizer, answer),
        processing_class=tokenizer,
        reward_funcs=adapter.reward_funcs,
        args=config,
        train_dataset=dataset,
        environment_factory=adapter.environment_factory,
    )
    loops: list[tuple[Any, ...]] = []
    tool_call_loop = trainer._tool_call_loop

    def spy(*args: Any, **kwargs: Any) -> Any:
        loops.append(tool_call_loop(*args, **kwargs))
        return loops[-1]

    trainer._tool_call_loop = spy  # type: ignore[method-assign]
    trainer.train()

    logs = trainer.state.log_history[0]
    assert logs["rewards/correctness/mean"] == 1.0 and logs["tools/call_frequency"] == 1.0
    assert {f"rewards/{name}/mean" for name in TERMS[:-1]} <= set(logs)
    [(tool_mask, completions, completion_ids, *_)] = loops
    for mask, ids, completion in zip(tool_mask, completion_ids, completions, strict=True):
        [tool_output] = zero_runs(mask)
        assert "<information>" in tokenizer.decode(ids[slice(*tool_output)])
        assert "<information>" not in tokenizer.decode([t for t, m in zip(ids, mask, strict=True) if m])
        assert completion[-1]["content"].endswith(f"<answer>{task.answers[0]}</answer>")
    assert all(env.task_id == task.id for env in trainer.environments)


@pytest.mark.slow  # a real step of the README's example, on the tiny model
def test_readme_example_runs(tmp_path: Path) -> None:
    from tests.conftest import REPO_ROOT

    readme = (REPO_ROOT / "README.md").read_text()
    section = readme[readme.index("<!-- trl -->") : readme.index("<!-- /trl -->")]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None
    code = match.group(1)
    for old, new in (
        ('"smollm2-135m"', '"tiny-random"'),
        ("max_new_tokens=128", "max_new_tokens=8"),
        ('"runs/trl"', repr(str(tmp_path))),
        ("max_steps=2", "max_steps=1, report_to='none'"),
    ):
        assert old in code, old
        code = code.replace(old, new)
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    trainer = namespace["trainer"]
    assert trainer.state.global_step == 1 and "rewards/correctness/mean" in trainer.state.log_history[0]
