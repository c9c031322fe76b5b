"""Environment classes and the factory the registered ids point to."""

from rezero_env.envs.factory import make_search_qa
from rezero_env.envs.search_qa import SearchQAEnv

__all__ = ["SearchQAEnv", "make_search_qa"]
