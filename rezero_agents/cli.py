"""Building a :class:`GRPOConfig` from the command line: ``--preset NAME`` picks the defaults, flags override."""

from __future__ import annotations

import argparse

from rezero_agents.grpo_config import PRESETS, GRPOConfig


def config_from_cli(argv: list[str], description: str | None = None) -> GRPOConfig:
    """Parse ``argv`` (``--preset NAME`` plus any ``GRPOConfig`` field as ``--field-name value``)."""
    import tyro

    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--preset", choices=sorted(PRESETS), default=None)
    known, rest = parser.parse_known_args(argv)
    default = PRESETS[known.preset] if known.preset else GRPOConfig()
    config: GRPOConfig = tyro.cli(GRPOConfig, default=default, args=rest, description=description)
    return config
