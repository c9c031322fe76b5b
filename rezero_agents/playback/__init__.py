"""Playback of episode logs: a Gradio app to browse, filter, compare and replay what agents did.

- :mod:`~rezero_agents.playback.loading`: find logs, index them in one pass (byte offsets + summary fields), filter,
  page, and read back single episodes;
- :mod:`~rezero_agents.playback.render`: an episode record as escaped HTML (chat transcript, searches, rewards);
- :mod:`~rezero_agents.playback.plots`: the tables behind the summary plots;
- :mod:`~rezero_agents.playback.live`: play one episode turn by turn with the scripted searcher or a checkpoint;
- :mod:`~rezero_agents.playback.app`: the Gradio Blocks app and the ``rezero-playback`` command.

Only :mod:`~rezero_agents.playback.app` imports Gradio.
"""
