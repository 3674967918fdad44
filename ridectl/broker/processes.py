"""Ports and processes on this machine: free port blocks, listening ports, live pids."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from ridectl.broker.config import HOST
from ridectl.errors import BrokerError


def free_port_block(count: int, host: str = HOST) -> int:
    """A first port P such that P .. P+count-1 can all be bound on ``host`` right now."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            first = int(s.getsockname()[1])
        if first + count >= 65535:
            continue
        held: list[socket.socket] = []
        try:
            for port in range(first, first + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                held.append(sock)
                sock.bind((host, port))
            return first
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
    raise BrokerError(f"no block of {count} free ports found on {host}")


def port_in_use(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as dead.
    try:
        status = Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1]
    except OSError:
        return True
    return status != "Z"


def is_our_java(pid: int, state_dir: Path) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return pid_alive(pid)  # no /proc: trust the pid file
    return "kafka.Kafka" in cmdline and str(state_dir) in cmdline
