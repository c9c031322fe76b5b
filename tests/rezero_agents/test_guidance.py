"""Guidance: the off-policy objective against a hand computation, guide episodes and expert prefixes on a tiny model,
their marks in the episode log, and the group statistics."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest
import torch

from rezero_agents.chat import ChatFormatter
from rezero_agents.group_stats import failing_groups, flat_shares, success_shares
from rezero_agents.grpo import GRPOLearner
from rezero_agents.guidance import Guidance, make_guide, tokenize_guide_episode
from rezero_agents.learners import make_learner
from rezero_agents.models import load_model
from rezero_agents.objectives import grpo_loss, shaped_probability
from rezero_agents.policy import Completion, SamplingConfig
from rezero_agents.records import Episode
from rezero_agents.rft import RFTLearner
from rezero_agents.rollout import collect_episodes
from rezero_agents.scoring import TokenScorer, pad_sequences
from rezero_env.types import Task
from tests.rezero_agents.conftest import SECRET_ANSWER, SECRET_ENV_ID, SECRET_SEARCH, SecretGuide, tiny_config

GAMMA = 0.1


def _scored(tiny_model_path: str) -> tuple[TokenScorer, torch.Tensor, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = load_model(tiny_model_path, dtype="float32", device="cpu")
    sequences = [([5, 6, 7, 8, 9, 10], [0, 0, 1, 1, 1, 1]), ([5, 6, 11, 12, 13], [0, 0, 1, 1, 1])]
    input_ids, attention, targets = pad_sequences(sequences, pad_id=0, device=torch.device("cpu"))
    return TokenScorer(model), input_ids, attention, targets


@pytest.mark.parametrize("objective", ["shaped", "likelihood"])
def test_the_guide_term_gradient_matches_a_hand_computation(tiny_model_path: str, objective: str) -> None:
    scorer, input_ids, attention, targets = _scored(tiny_model_path)
    weight = scorer.model.get_output_embeddings().weight
    advantages = torch.tensor([1.5, -0.5])
    off_policy = torch.tensor([True, False])  # row 0 is the guide's, row 1 a sample
    normalizer = float(targets.sum())

    new = scorer(input_ids, attention, targets)
    old = new.detach() - torch.tensor([[0.0] * 5, [0.5] * 4 + [0.0]])  # the sample's ratio e^0.5 is clipped
    loss, stats = grpo_loss(
        new,
        old,
        None,
        advantages,
        targets,
        epsilon=0.2,
        epsilon_high=0.2,
        beta=0.0,
        loss_type="token_mean",
        normalizer=normalizer,
        off_policy=off_policy,
        guide_objective=objective,
        guide_gamma=GAMMA,
    )
    (gradient,) = torch.autograd.grad(loss, weight)

    # by hand: d/dθ of each trained token's log-prob, weighted by the chain rule of the term it belongs to
    logprobs = scorer(input_ids, attention, targets)
    expected = torch.zeros_like(weight)
    for row, column in targets.nonzero().tolist():
        (token_gradient,) = torch.autograd.grad(logprobs[row, column], weight, retain_graph=True)
        p = float(logprobs[row, column].detach().exp())
        if row == 0:  # guide: -A·f(p) with f(p) = p/(p+γ) (df/dlog p = γp/(p+γ)²), or -A·log p; never clipped
            chain = GAMMA * p / (p + GAMMA) ** 2 if objective == "shaped" else 1.0
            expected += -1.5 * chain * token_gradient / normalizer
        # sample: ratio e^0.5 > 1.2 with A < 0, so -min(r·A, 1.2·A) = -r·A: d/dθ = -A·r·∇log p
        else:
            ratio = float(torch.exp(logprobs[row, column].detach() - old[row, column]))
            expected += 0.5 * ratio * token_gradient / normalizer
    assert float((gradient - expected).abs().max()) <= 1e-4 * float(expected.abs().max())
    assert stats["off_policy_tokens"] == 4 and stats["clipped_tokens"] == 3


def test_shaped_probability_weighs_unlikely_tokens_most() -> None:
    logprobs = torch.log(torch.tensor([1e-5, GAMMA, 0.9])).requires_grad_()
    shaped_probability(logprobs, GAMMA).sum().backward()
    assert logprobs.grad is not None
    low, middle, high = logprobs.grad.tolist()
    assert middle == pytest.approx(0.25) and low < 1e-3 and high < middle  # the maximum is at p = γ


def test_failing_groups_and_success_shares() -> None:
    two_hop = Task("a", "q?", ("x",), meta={"level": "two-hop"})
    single = Task("b", "q?", ("y",), meta={"level": "single-hop"})
    right = {"correctness": 1.0}
    episodes = [
        Episode(two_hop, 0), Episode(two_hop, 0),
        Episode(single, 1), Episode(single, 1, reward_terms=right),
        Episode(two_hop, 2, reward_terms=right), Episode(two_hop, 2),
    ]  # fmt: skip
    assert failing_groups(episodes) == [0]
    shares = success_shares(episodes, "s")
    assert shares == {"s": pytest.approx(2 / 3), "s/single-hop": 1.0, "s/two-hop": 0.5}
    flat = flat_shares(episodes, [0.0, 0.0, 0.0, 4.0, 3.0, 3.0], "z")  # group 2: right and wrong, same reward
    assert flat == {"z": pytest.approx(2 / 3), "z/single-hop": 0.0, "z/two-hop": 1.0}


def test_unknown_guide_is_named() -> None:
    with pytest.raises(ValueError, match="Unknown guide 'oracle'"):
        make_guide("oracle")
    with pytest.raises(ValueError, match="guidance must be one of"):
        tiny_config(Path("x"), guidance="always")


def test_a_guide_episode_is_tokenised_with_the_learners_formatter(tokenizer: Any) -> None:
    env = gym.make(SECRET_ENV_ID, max_turns=2)
    formatter = ChatFormatter(tokenizer)
    (episode,) = collect_episodes([env], SecretGuide(), [{"task_index": 0}])
    assert episode.correct and not episode.token_ids
    tokenize_guide_episode(episode, formatter)
    trained = tokenizer.decode([t for t, m in zip(episode.token_ids, episode.loss_mask, strict=True) if m])
    assert SECRET_SEARCH in trained and SECRET_ANSWER in trained and "<information>" not in trained
    assert episode.guide and set(episode.logprobs) == {0.0} and len(episode.logprobs) == len(episode.token_ids)


class AnswerPolicy:
    """A stand-in LLM policy that always answers 7 (right after a search, wrong before one)."""

    def __init__(self, formatter: ChatFormatter) -> None:
        self.formatter = formatter
        self.prompts: list[list[int]] = []

    def generate(
        self, prompts: Sequence[Sequence[int]], sampling: SamplingConfig, seed: int | None = None
    ) -> list[Completion]:
        self.prompts += [list(p) for p in prompts]
        ids = self.formatter.encode(SECRET_ANSWER)
        return [Completion(SECRET_ANSWER, list(ids), [-0.1] * len(ids), "stop") for _ in prompts]


def test_prefixes_replay_the_guides_first_turn_as_context(tokenizer: Any) -> None:
    formatter = ChatFormatter(tokenizer)
    envs = [gym.make(SECRET_ENV_ID, max_turns=2) for _ in range(4)]
    policy = AnswerPolicy(formatter)
    samples = collect_episodes(envs, policy, [{"task_index": 3}] * 2, groups=[0, 0])
    assert not any(e.correct for e in samples)  # answering straight away misses the search
    guidance = Guidance("prefix", SecretGuide(), envs, formatter, num_generations=2, replace_sample=True)
    step = guidance.apply(samples, [3], policy, SamplingConfig(), seed=0)  # type: ignore[arg-type]

    assert step.failing == [0] and step.guided == [0] and step.prefix_turns == {0: 1}
    guide, *branched = [e for e in step.episodes if e.guide or e.guide_turns]
    assert guide.guide and len(branched) == 2 and all(e.correct and e.guide_turns == 1 for e in branched)
    assert len(step.displaced) == 1 and len(step.episodes) == 1 + 1 + 2  # one sample replaced by the guide
    for episode in branched:  # the guide's search and the information are context; only the answer is trained
        trained = tokenizer.decode([t for t, m in zip(episode.token_ids, episode.loss_mask, strict=True) if m])
        context = tokenizer.decode([t for t, m in zip(episode.token_ids, episode.loss_mask, strict=True) if not m])
        assert trained.strip() == SECRET_ANSWER and SECRET_SEARCH in context and "<information>" in context
        assert episode.token_ids[: len(policy.prompts[-1])] == policy.prompts[-1]  # the prompt the policy saw
    metrics = step.metrics()
    assert metrics["train/guided_groups"] == 1 and metrics["train/branched_groups"] == 1
    assert metrics["train/prefix_turns"] == 1 and metrics["train/guide_success"] == 1


def test_guided_training_marks_and_logs_guide_episodes(tmp_path: Path) -> None:
    config = tiny_config(
        tmp_path, env_id=SECRET_ENV_ID, guidance="trajectory", max_turns=2, questions_per_step=2, num_generations=2
    )
    learner = GRPOLearner(config, guide=SecretGuide())
    metrics = learner.train_step()
    learner.close()
    assert metrics["train/failing_groups"] == 2 and metrics["train/guided_groups"] == 2
    assert metrics["train/trained_thanks_to_guidance"] == 1.0 and metrics["loss/guide_tokens"] > 0
    assert metrics["train/solvable_groups"] == 0 and metrics["train/solvable_groups_guided"] == 1
    records = [json.loads(line) for line in (tmp_path / "episodes.jsonl").read_text().splitlines()]
    guides = [r for r in records if r["guide"]]
    unaided = [r for r in records if r["episode_id"].startswith("unaided-")]
    assert len(guides) == 2 and all(r["correct"] and r["learner"]["advantage"] > 0 for r in guides)
    assert len(unaided) == 2 and all(r["learner"]["advantage"] == 0 for r in unaided)  # replaced by the guides
    trained = [r for r in records if not r["guide"] and not r["episode_id"].startswith("unaided-")]
    assert len(trained) == 2 and all(r["learner"]["advantage"] < 0 for r in trained)


def test_make_learner_builds_the_named_learner(tmp_path: Path) -> None:
    learner = make_learner(tiny_config(tmp_path, learner="rft"))
    assert isinstance(learner, RFTLearner)
    metrics = learner.train_step()
    assert metrics["train/kept_episodes"] == 0  # the length reward judges nothing correct: nothing to imitate
    learner.close()
