"""Serve a rezero search engine over HTTP with Search-R1's retriever protocol, so many trainers share one index.

    python scripts/serve_retriever.py --dataset synthetic --engine bm25                     # http://127.0.0.1:8000
    python scripts/serve_retriever.py --dataset rezero-apollo --engine bm25 --port 8001 \\
        --search-options '{"backend": "rank_bm25"}'

Clients: ``gym.make("SearchQA-v0", search_engine="remote", search_options={"url": "http://127.0.0.1:8000/retrieve"})``,
or any Search-R1 client (``POST /retrieve {"queries": [...], "topk": 3, "return_scores": true}``). ``GET /health``
reports the corpus size. The server has no authentication: it binds 127.0.0.1 unless ``--host`` says otherwise.
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
from rezero_env.search.server import create_app

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
    app = create_app(
        engine, max_request_bytes=args.max_request_bytes, max_queries=args.max_queries, max_topk=args.max_topk
    )
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
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
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
