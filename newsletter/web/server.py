"""How the preference centre runs under uvicorn, the same for ``serve``, tests and benchmarks."""

from __future__ import annotations

import uvicorn
from starlette.types import ASGIApp

KEEP_ALIVE_SECONDS = 5
"""An idle connection is closed this long after its last response."""


def uvicorn_config(
    app: ASGIApp, host: str, port: int, *, log_level: str = "info"
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,  # request paths carry link tokens, which must not reach the logs
        server_header=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        proxy_headers=True,  # trusts X-Forwarded-* from FORWARDED_ALLOW_IPS (127.0.0.1)
    )
