"""A free loopback port for a server a test starts (Spark daemons, the metastore, Airflow, a mock endpoint)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port no one listens on now (the OS picks it); the caller binds it soon after."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
