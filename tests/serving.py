"""A uvicorn server in a background thread on 127.0.0.1, for the tests that talk HTTP to one."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def serve_in_thread(config: Any, what: str = "uvicorn", start_timeout: float = 30) -> Iterator[str]:
    """Run the server ``config`` (a ``uvicorn.Config`` with ``port=0``) in a daemon thread; yield its base URL
    (``http://127.0.0.1:PORT``) once it listens, and stop it afterwards."""
    import uvicorn

    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, f"{what} did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
