"""How the preference centre runs under uvicorn, the same for ``serve``, tests and benchmarks."""

from __future__ import annotations

from typing import Any

import uvicorn
from starlette.types import ASGIApp

KEEP_ALIVE_SECONDS = 5
"""An idle connection is closed this long after its last response."""


def uvicorn_options(host: str, port: int, log_level: str = "info") -> dict[str, Any]:
    return {
        "host": host,
        "port": port,
        "log_level": log_level,
        "access_log": False,  # request paths carry link tokens, which must not reach the logs
        "server_header": False,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "proxy_headers": True,  # trusts X-Forwarded-* from FORWARDED_ALLOW_IPS (127.0.0.1)
    }


def uvicorn_config(
    app: ASGIApp, host: str, port: int, *, log_level: str = "info"
) -> uvicorn.Config:
    return uvicorn.Config(app, **uvicorn_options(host, port, log_level))


WORKER_APP = "newsletter.web.app:from_environment"
"""What each of several worker processes imports: they share no Python objects, so each
builds its app from the project file and the environment."""


def run_workers(workers: int, host: str, port: int) -> None:
    """Serve with ``workers`` processes on one socket (uvicorn's supervisor restarts
    any that dies)."""
    uvicorn.run(WORKER_APP, factory=True, workers=workers, **uvicorn_options(host, port))
