"""rezero_agents: policies and learners that train on rezero_env through the Gymnasium API only."""
