"""``CollapseGuard``: when a run should stop early."""

from __future__ import annotations

from rezero_agents.grpo_config import GRPOConfig


class CollapseGuard:
    """Decides when a run should stop early: validation accuracy more than ``collapse_margin`` below the best, or
    the trained tokens' entropy or the tokens per turn out of their band for ``collapse_patience`` steps in a row.
    ``stop_reason`` is None while the run is healthy."""

    def __init__(self, config: GRPOConfig) -> None:
        self.config = config
        self.stop_reason: str | None = None
        self.last_validation = float("nan")
        self._out_of_band = 0

    def after_validation(self, accuracy: float, best: float) -> str | None:
        self.last_validation = accuracy
        margin = self.config.collapse_margin
        if margin > 0 and accuracy < best - margin:
            self.stop_reason = (
                f"validation accuracy {accuracy:.1%} fell more than {margin:.0%} below the best {best:.1%} "
                "(collapse_margin)"
            )
        return self.stop_reason

    def after_step(self, metrics: dict[str, float]) -> str | None:
        config = self.config
        entropy = metrics.get("loss/entropy", float("nan"))
        length = metrics.get("train/tokens_per_turn", float("nan"))
        problems = []
        if config.min_entropy and entropy < config.min_entropy:
            problems.append(f"entropy {entropy:.3f} < min_entropy {config.min_entropy}")
        if config.max_entropy and entropy > config.max_entropy:
            problems.append(f"entropy {entropy:.3f} > max_entropy {config.max_entropy}")
        if config.max_tokens_per_turn and length > config.max_tokens_per_turn:
            problems.append(f"tokens per turn {length:.1f} > max_tokens_per_turn {config.max_tokens_per_turn}")
        self._out_of_band = self._out_of_band + 1 if problems else 0
        if self._out_of_band >= config.collapse_patience:
            self.stop_reason = "; ".join(problems) + f" for {self._out_of_band} steps (collapse_patience)"
        return self.stop_reason
