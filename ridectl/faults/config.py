"""What a fault proxy is built from: broker addresses, the timeouts, and :class:`ProxyConfig`
(which crosses to the proxy's child process as JSON)."""

from __future__ import annotations

from dataclasses import dataclass

from ridectl.errors import UsageError
from ridectl.faults.protocol import MAX_FRAME_BYTES
from ridectl.faults.spec import FaultSpec

Address = tuple[str, int]

CONNECT_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
#: Once a frame started, the rest of it must arrive within this time (slow writers).
FRAME_TIMEOUT_S = 30.0
#: listen hosts that mean every interface: clients are told 127.0.0.1 unless --advertise says
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})


def parse_host_port(text: str, *, what: str = "address") -> Address:
    """``host:port`` (``[v6]:port`` for IPv6) to a tuple; UsageError when malformed."""
    raw = text.strip()
    host, sep, port_text = raw.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        port = int(port_text)
    except ValueError:
        port = -1
    if not sep or not host or not 0 <= port <= 65535:
        raise UsageError(f"bad {what} {text!r}: expected HOST:PORT, e.g. 127.0.0.1:9092")
    return host, port


def fmt_address(address: Address) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True)
class ProxyConfig:
    """Everything a proxy is built from; it crosses to the child process as JSON."""

    upstream: str
    faults: tuple[FaultSpec, ...] = ()
    listen_host: str = "127.0.0.1"
    listen_port: int = 0
    advertised_host: str | None = None
    max_frame_bytes: int = MAX_FRAME_BYTES
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    frame_timeout_s: float = FRAME_TIMEOUT_S
