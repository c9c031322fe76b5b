"""Building a :class:`GRPOConfig` from the command line: ``--preset NAME`` picks the defaults, flags override."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Mapping
from typing import Any

from rezero_agents.grpo_config import PRESETS, GRPOConfig


def preset_help() -> str:
    """The ``--preset`` line of ``--help`` (``--preset`` is parsed before tyro sees the other flags).

    Example:
        >>> "--preset {cpu-demo,cpu-learning,rezero-paper,smoke}" in preset_help()
        True
    """
    return (
        f"--preset {{{','.join(sorted(PRESETS))}}}: start from a named preset (rezero_agents.grpo_config.PRESETS); "
        "its values become the defaults listed below, and flags override them."
    )


def config_from_cli(
    argv: list[str], description: str | None = None, defaults: Mapping[str, Any] | None = None
) -> GRPOConfig:
    """Parse ``argv`` (``--preset NAME`` plus any ``GRPOConfig`` field as ``--field-name value``); ``defaults``
    change the preset's values before the flags override them (and ``--help`` lists them as the defaults)."""
    import tyro

    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--preset", choices=sorted(PRESETS), default=None)
    known, rest = parser.parse_known_args(argv)
    default = PRESETS[known.preset] if known.preset else GRPOConfig()
    default = dataclasses.replace(default, **(defaults or {}))
    text = "\n\n".join(part for part in (description, preset_help()) if part)
    config: GRPOConfig = tyro.cli(GRPOConfig, default=default, args=rest, description=text)
    return config
