"""Learning signal where every sample fails: a guide's help for the groups in which no sample was judged correct.

A group whose samples all fail has equal rewards and a zero advantage, so outcome-reward GRPO learns nothing from
the questions it most needs to learn (on the synthetic world: two-hop questions, whose bridge query the warm start
never issues). A *guide* — any policy, by default the scripted searcher, which knows how the synthetic world's
encyclopedia phrases its facts — is played on those questions through the same environment, and its episode is
used in one of two ways (``GRPOConfig.guidance``):

- ``"trajectory"`` (LUFFY, arXiv 2504.14945): the guide's episode, when it is judged correct, joins the group
  (replacing one sample, or added: ``guide_replaces_sample``). Its tokens are the chat formatter's tokens of the
  guide's transcript, marked ``episode.guide``; they are off-policy, and the learner trains them with the objective
  of :func:`rezero_agents.objectives.grpo_loss` (shaped probability, no clipping).
- ``"prefix"`` (after BREAD, arXiv 2506.17211): as ``"trajectory"``, and besides, the guide's first ``k`` assistant
  turns are replayed as context (loss mask 0) and the policy samples the rest, ``branch_samples`` times; ``k`` is
  the shortest prefix, from 1 up to ``max_prefix_turns`` (and below the guide's own number of turns), that gives a
  success. Those branched samples join the group, so the policy is trained on-policy on the step it could not find
  (on two-hop questions: the bridge query after the first hop), while the guide's trajectory keeps teaching the
  turns before it. (Branched samples alone cannot: their prefix is context, and a policy that learns to finish
  after the guide's first turn but never writes that turn itself would keep failing unaided — measured on the
  secret task of ``tests/rezero_agents/test_learning.py``, where it stayed at 0.)

A guided group is normalised as one group: its unaided samples, the guide's episode and the branched samples.
Guidance never changes which questions were drawn, and the step's accuracy counts only the unaided samples.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import gymnasium as gym

from rezero_agents.chat import ChatFormatter
from rezero_agents.group_stats import failing_groups
from rezero_agents.grpo_config import GRPOConfig
from rezero_agents.policy import Policy, SamplingConfig
from rezero_agents.records import Episode
from rezero_agents.rollout import TextPolicy, collect_episodes
from rezero_agents.scripted import ScriptedSearcher
from rezero_agents.sft import transcript_tokens

logger = logging.getLogger(__name__)

GUIDANCE_MODES = ("none", "trajectory", "prefix")

GUIDES: dict[str, Callable[[], TextPolicy]] = {
    "scripted": ScriptedSearcher,
    "scripted-no-retry": lambda: ScriptedSearcher(retry=False),
}
"""Guides by name (``GRPOConfig.guide``); a learner also takes any :class:`~rezero_agents.policy.Policy` or
:class:`~rezero_agents.rollout.TextPolicy` object as its guide."""


def make_guide(name: str) -> TextPolicy:
    """The guide called ``name`` in :data:`GUIDES`.

    Raises:
        ValueError: an unknown name (the message lists the known ones).
    """
    if name not in GUIDES:
        raise ValueError(f"Unknown guide {name!r}; choose one of {sorted(GUIDES)} or pass a policy object")
    return GUIDES[name]()


def tokenize_guide_episode(episode: Episode, formatter: ChatFormatter) -> Episode:
    """Mark ``episode`` as the guide's and give it the formatter's tokens of its transcript: the loss mask is 1 on
    each assistant message and its end-of-turn token, and the log-probs are 0 (the guide's probability of its own
    tokens is taken as 1)."""
    ids, mask = transcript_tokens(formatter, episode.messages)
    episode.token_ids, episode.loss_mask, episode.logprobs = ids, mask, [0.0] * len(ids)
    episode.prefix_messages = list(formatter.prefix_messages)
    episode.tokenizer = formatter.tokenizer
    episode.guide = True
    return episode


@dataclass
class GuidedStep:
    """What guidance did to one step's episodes.

    Attributes:
        episodes: The episodes the update uses: the step's samples, joined in helped groups by the guide's episode
            (which replaces one sample with ``replace_sample``) and by branched samples (``"prefix"``).
        displaced: Unaided samples that the update does not use (those the guide's episode replaced).
        failing: Groups in which no unaided sample was correct.
        guide_correct: Failing groups whose guide episode was judged correct (only those can be helped).
        prefix_turns: Group → the prefix length ``k`` whose branched samples gave it a success.
        guided: Groups the guide's episode joined (they carry a success thanks to guidance).
        guide_episodes: Guide episodes played.
        prefix_episodes: Episodes sampled after a prefix (successful or not).
        prefix_tokens: Tokens the policy sampled in them.
    """

    episodes: list[Episode]
    displaced: list[Episode] = field(default_factory=list)
    failing: list[int] = field(default_factory=list)
    guide_correct: list[int] = field(default_factory=list)
    prefix_turns: dict[int, int] = field(default_factory=dict)
    guided: list[int] = field(default_factory=list)
    guide_episodes: int = 0
    prefix_episodes: int = 0
    prefix_tokens: int = 0

    def metrics(self) -> dict[str, float]:
        """TensorBoard scalars of this step's guidance (``train/guided_groups`` and friends)."""
        failing = max(1, len(self.failing))
        return {
            "train/failing_groups": float(len(self.failing)),
            "train/guided_groups": float(len(self.guided)),
            "train/branched_groups": float(len(self.prefix_turns)),
            "train/guide_success": len(self.guide_correct) / failing if self.failing else float("nan"),
            "train/prefix_turns": (
                sum(self.prefix_turns.values()) / len(self.prefix_turns) if self.prefix_turns else float("nan")
            ),
            "train/guide_episodes": float(self.guide_episodes),
            "train/prefix_episodes": float(self.prefix_episodes),
        }


class Guidance:
    """Helps the failing groups of a step (see the module docstring).

    Args:
        mode: ``"trajectory"`` or ``"prefix"``.
        guide: The guide: a text policy (the scripted searcher) or an LLM policy.
        envs: Environments to play on (the learner's training environments).
        formatter: The learner's chat formatter (guide transcripts are tokenised with it).
        num_generations: Samples per group (the sample a guide's episode replaces is one of them).
        branch_samples: ``"prefix"``: samples per branched group.
        replace_sample: ``"trajectory"``: the guide's episode replaces the group's last sample (else it is added).
        max_prefix_turns: ``"prefix"``: the longest prefix tried.
        max_sequence_tokens: Episodes' token budget (as in :func:`~rezero_agents.rollout.collect_episodes`).
        guide_sampling: How an LLM guide samples (default greedy; text guides ignore it).
    """

    def __init__(
        self,
        mode: str,
        guide: Policy | TextPolicy,
        envs: Sequence[gym.Env[str, str]],
        formatter: ChatFormatter,
        *,
        num_generations: int,
        branch_samples: int = 2,
        replace_sample: bool = True,
        max_prefix_turns: int = 2,
        max_sequence_tokens: int = 4096,
        guide_sampling: SamplingConfig | None = None,
    ) -> None:
        if mode not in GUIDANCE_MODES[1:]:
            raise ValueError(f"guidance must be one of {GUIDANCE_MODES[1:]}, got {mode!r}")
        self.mode, self.guide, self.envs, self.formatter = mode, guide, envs, formatter
        self.num_generations = num_generations
        self.branch_samples = branch_samples
        self.replace_sample = replace_sample
        self.max_prefix_turns = max_prefix_turns
        self.max_sequence_tokens = max_sequence_tokens
        self.guide_sampling = guide_sampling or SamplingConfig(temperature=0.0)

    def apply(
        self,
        episodes: Sequence[Episode],
        questions: Sequence[int],
        policy: Policy,
        sampling: SamplingConfig,
        seed: int,
    ) -> GuidedStep:
        """Help the failing groups of ``episodes`` (the samples of ``questions[g]`` have ``group == g``)."""
        step = GuidedStep(episodes=list(episodes), failing=failing_groups(episodes))
        if not step.failing:
            return step
        guides = self._play_guide([questions[g] for g in step.failing], step.failing, seed)
        step.guide_episodes = len(step.failing)
        step.guide_correct = sorted(guides)
        for group in step.guide_correct:
            self._add_trajectory(step, guides[group])
        if self.mode == "prefix":
            self._branch(step, guides, questions, policy, sampling, seed)
        return step

    # --- the guide's own episodes ----------------------------------------------------------------------------

    def _play_guide(self, questions: Sequence[int], groups: Sequence[int], seed: int) -> dict[int, Episode]:
        """The guide's episode of each question, by group, for those it got right (tokenised)."""
        played = collect_episodes(
            self.envs,
            self.guide,
            [{"task_index": q} for q in questions],
            groups=list(groups),
            seed=seed + 7_919,
            sampling=self.guide_sampling,
            max_sequence_tokens=self.max_sequence_tokens,
        )
        usable = {}
        for episode in played:
            if episode.correct and all(m["content"] for m in episode.messages if m["role"] == "assistant"):
                usable[episode.group] = tokenize_guide_episode(episode, self.formatter)
        return usable

    def _add_trajectory(self, step: GuidedStep, guide: Episode) -> None:
        if self.replace_sample:
            last = max(i for i, e in enumerate(step.episodes) if e.group == guide.group and not e.guide)
            step.displaced.append(step.episodes.pop(last))
        step.episodes.append(guide)
        step.guided.append(guide.group)

    # --- expert prefixes -------------------------------------------------------------------------------------

    def _branch(
        self,
        step: GuidedStep,
        guides: dict[int, Episode],
        questions: Sequence[int],
        policy: Policy,
        sampling: SamplingConfig,
        seed: int,
    ) -> None:
        """Sample after prefixes of 1, 2, … guide turns; the first branched samples of a group with a success join
        it."""
        pending = list(step.guide_correct)
        turns = {g: [m["content"] for m in guides[g].messages if m["role"] == "assistant"] for g in pending}
        for k in range(1, self.max_prefix_turns + 1):
            trying = [g for g in pending if len(turns[g]) > k]
            if not trying:
                break
            samples = self.branch_samples
            played = collect_episodes(
                self.envs,
                policy,
                [{"task_index": questions[g]} for g in trying for _ in range(samples)],
                groups=[g for g in trying for _ in range(samples)],
                seed=seed + 104_729 * k,
                sampling=sampling,
                max_sequence_tokens=self.max_sequence_tokens,
                prefixes=[turns[g][:k] for g in trying for _ in range(samples)],
            )
            step.prefix_episodes += len(played)
            step.prefix_tokens += sum(sum(e.loss_mask) for e in played)
            for group in trying:
                members = [e for e in played if e.group == group]
                if any(e.correct for e in members):
                    step.episodes += members
                    step.prefix_turns[group] = k
                    pending.remove(group)


def guidance_for(
    config: GRPOConfig, guide: Policy | TextPolicy, envs: Sequence[gym.Env[str, str]], formatter: ChatFormatter
) -> Guidance:
    """The :class:`Guidance` of a learner's config (``guidance``, ``guide_replaces_sample``, ``max_prefix_turns``,
    ``branch_samples``)."""
    return Guidance(
        config.guidance,
        guide,
        envs,
        formatter,
        num_generations=config.num_generations,
        branch_samples=config.branch_samples,
        replace_sample=config.guide_replaces_sample,
        max_prefix_turns=config.max_prefix_turns,
        max_sequence_tokens=config.max_sequence_tokens,
        guide_sampling=SamplingConfig(temperature=0.0, max_new_tokens=config.max_new_tokens),
    )
