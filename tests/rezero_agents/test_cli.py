"""Building a config from the command line: preset, a script's own defaults, then the user's flags."""

from __future__ import annotations

from rezero_agents.cli import config_from_cli


def test_flags_override_a_scripts_defaults_which_override_the_preset() -> None:
    recipe = {"guidance": "trajectory", "total_steps": 6}
    config = config_from_cli(["--preset", "cpu-demo"], defaults=recipe)
    assert (config.guidance, config.total_steps, config.model) == ("trajectory", 6, "smollm2-135m")
    config = config_from_cli(["--preset", "cpu-demo", "--total-steps", "1"], defaults=recipe)
    assert (config.guidance, config.total_steps) == ("trajectory", 1)
