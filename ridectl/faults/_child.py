"""The child-process side of ``FaultProxy(isolation="process")``.

Run as ``python -m ridectl.faults._child CONFIG_JSON``. It starts the proxy in a thread of
its own process, writes ``{"ready": stats}`` (or ``{"error": ...}``) on stdout, then answers
each ``stats`` line on stdin with ``{"stats": ...}``. ``stop`` or the end of stdin stops the
proxy; the final stats are written for ``stop``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys

from ridectl.errors import RidectlError
from ridectl.faults.proxy import FaultProxy
from ridectl.faults.runners import config_from_json


def _say(message: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    # Ctrl-C is for the parent to handle: it stops us through stdin and wants the final stats.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    config, level = config_from_json(argv[0])
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("fault-proxy %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("ridectl")
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        proxy = FaultProxy(
            config.upstream,
            config.faults,
            config.listen_host,
            config.listen_port,
            advertised_host=config.advertised_host,
            max_frame_bytes=config.max_frame_bytes,
            connect_timeout_s=config.connect_timeout_s,
            frame_timeout_s=config.frame_timeout_s,
            isolation="thread",
        ).start()
    except RidectlError as exc:
        _say({"error": {"type": type(exc).__name__, "message": exc.message, "hint": exc.hint}})
        return 1
    except Exception as exc:
        _say({"error": {"type": type(exc).__name__, "message": str(exc), "hint": None}})
        return 1
    try:
        _say({"ready": proxy.stats().to_dict()})
    except BrokenPipeError:  # the parent is gone already (interrupted while we started)
        proxy.close()
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to say
        return 0
    stopped = False
    try:
        for line in sys.stdin:
            command = line.strip()
            if command == "stats":
                _say({"stats": proxy.stats().to_dict()})
            elif command == "stop":
                stopped = True
                break
    finally:
        proxy.close()
    if stopped:
        _say({"stats": proxy.stats().to_dict()})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
