"""Choosing a free port before any URL is printed: shared by the launcher (`python -m studio`)
and an exported Space's app.py (which ships this file), so both say when a port is taken."""

from __future__ import annotations

import socket

from engine.errors import UserError

SEARCH = 50  # ports tried after a taken default one


def port_free(host: str, port: int) -> bool:
    """Whether a server could listen on host:port now (bound as uvicorn does, with SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def pick_port(
    host: str,
    wanted: int | None,
    default: int,
    flag: str,
    taken: tuple[int, ...] = (),
    *,
    how: str | None = None,
) -> int:
    """The port to serve on, chosen before any URL is printed: `wanted` (given with `flag`) or
    refused when in use, else the first free port from `default` (another studio or program may
    hold it: printing its URL would send people to that server). `how` says how to choose one
    (default: "`flag` PORT")."""
    how = how or f"{flag} PORT"
    if wanted is not None:
        if wanted in taken or not port_free(host, wanted):
            raise UserError(f"port {wanted} is in use by another program; choose a free one with {how}")
        return wanted
    for port in range(default, default + SEARCH):
        if port not in taken and port_free(host, port):
            if port != default:
                print(f"port {default} is in use; using {port} ({how} chooses one)", flush=True)
            return port
    raise UserError(f"ports {default}-{default + SEARCH - 1} are all in use; choose one with {how}")
