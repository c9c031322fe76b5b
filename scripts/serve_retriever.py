"""Serve a rezero search engine over HTTP in the retrieval dialects of the RL libraries, so many trainers share one
index.

    python scripts/serve_retriever.py --dataset synthetic --engine bm25                     # http://127.0.0.1:8000
    python scripts/serve_retriever.py --dataset rezero-apollo --engine bm25 --port 8001 \\
        --search-options '{"backend": "rank_bm25"}'

Clients: ``gym.make("SearchQA-v0", search_engine="remote", search_options={"url": "http://127.0.0.1:8000/retrieve"})``,
any Search-R1/veRL client (``POST /retrieve {"queries": [...], "topk": 3, "return_scores": true}``), SkyRL-Gym's
search tool (``{"query": ...}`` JSON) and GEM's (``{"query": ...}`` MessagePack). ``GET /health`` reports the corpus
size, the requests in flight and the limits. Requests share the engine fairly; each is bounded (``--max-results``,
``--max-response-bytes``, ``--max-in-flight``), and so is each connection (``--request-timeout``, ``--keep-alive``).
The server has no authentication: it binds 127.0.0.1 unless ``--host`` says otherwise.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import sys
from dataclasses import dataclass
from typing import Any, Literal

import tyro

from rezero_env.data import load_dataset
from rezero_env.search import make_search_engine
from rezero_env.search.server import create_app, uvicorn_config

logger = logging.getLogger("serve_retriever")


@dataclass
class Args:
    dataset: str = "synthetic"
    """A dataset name (synthetic, rezero-apollo, ...) or folder; the engine indexes its corpus."""
    engine: str = "bm25"
    """Engine name, as for gym.make(..., search_engine=...)."""
    search_options: str = "{}"
    """Engine settings as a JSON object, as for gym.make(..., search_options=...)."""
    dataset_options: str = "{}"
    """Loader settings as a JSON object, as for gym.make(..., dataset_options=...)."""
    host: str = "127.0.0.1"
    """Interface to bind; anything but a loopback address exposes the (unauthenticated) server to the network."""
    port: int = 8000
    max_request_bytes: int = 1 << 20
    """Request bodies over this many bytes are refused with 413."""
    max_queries: int = 1024
    """Most queries one request may carry."""
    max_topk: int = 100
    """Largest topk a request may ask for."""
    max_results: int = 4096
    """Most results (queries × topk) one request may ask for; more is refused with 422."""
    max_response_bytes: int = 8 << 20
    """A reply that would be longer is refused with 413."""
    max_in_flight: int = 64
    """Requests admitted at once (sharing the engine in slices, least served first); more get 503 with Retry-After."""
    retry_after: int = 1
    """Seconds a refused client is told to wait (Retry-After)."""
    request_timeout: float = 10.0
    """Seconds a connection has to send a whole request head before it is closed."""
    body_timeout: float = 30.0
    """Seconds a request has to send its whole body (408 after that)."""
    keep_alive: int = 5
    """Seconds an idle keep-alive connection stays open."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"


def parse_json_object(text: str, flag: str) -> dict[str, Any]:
    """Parse ``text`` as a JSON object, or exit with a message naming ``flag``."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise SystemExit(f"{flag} must be a JSON object such as '{{\"k1\": 1.2}}': {error}") from None
    if not isinstance(value, dict):
        raise SystemExit(f"{flag} must be a JSON object, got {type(value).__name__}: {text}")
    return value


def main(args: Args) -> int:
    import uvicorn

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    search_options = parse_json_object(args.search_options, "--search-options")
    dataset_options = parse_json_object(args.dataset_options, "--dataset-options")
    dataset = load_dataset(args.dataset, dataset_options)
    engine = make_search_engine(args.engine, dataset.documents, search_options)
    try:
        app = create_app(
            engine,
            max_request_bytes=args.max_request_bytes,
            max_queries=args.max_queries,
            max_topk=args.max_topk,
            max_results=args.max_results,
            max_response_bytes=args.max_response_bytes,
            max_in_flight=args.max_in_flight,
            retry_after=args.retry_after,
            body_timeout=args.body_timeout,
        )
        config = uvicorn_config(
            app,
            args.host,
            args.port,
            request_timeout=args.request_timeout,
            keep_alive=args.keep_alive,
            log_level=args.log_level,
        )
    except ValueError as error:
        raise SystemExit(f"serve_retriever: {error}") from None
    if not _is_loopback(args.host):
        logger.warning("Binding %s: the retriever has no authentication; keep it on a private network", args.host)
    host = f"[{args.host}]" if ":" in args.host else args.host
    logger.info(
        "Serving %s over %d documents of %s at http://%s:%d/retrieve (health: /health)",
        args.engine,
        len(dataset.documents),
        args.dataset,
        host,
        args.port,
    )
    uvicorn.Server(config).run()
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


if __name__ == "__main__":
    sys.exit(main(tyro.cli(Args, description=__doc__)))
