"""The floor of the checker: how long merely reading a history file and parsing every line
takes with the fastest parser at hand, nothing judged. The checker's time over this floor is
what judging costs beyond the unavoidable.

Two parsers are timed and the faster one is the floor: msgspec decoding the lines into typed
records chunk by chunk (kept only for the chunk, so memory stays flat), and pyarrow's JSON
reader building typed columns in C++ (multi-threaded). Each is timed in this process, so the
child's start-up, which the checker's figure includes, is not in the floor.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import msgspec

from ridectl.bench.results import Floor, ParserFailed, ParserTiming
from ridectl.judge.history import Observation

_CHUNK = 8 << 20


def msgspec_parse(path: Path) -> int:
    """Lines decoded into typed records, the file read in chunks cut at line ends."""
    decode = msgspec.json.Decoder(Observation).decode_lines
    count = 0
    rest = b""
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            data = rest + chunk
            cut = data.rfind(b"\n") + 1
            rest = data[cut:]
            count += len(decode(data[:cut]))
    if rest.strip():
        count += len(decode(rest))
    return count


def pyarrow_parse(path: Path) -> int:
    """The whole file read into typed columns."""
    from pyarrow import json as pa_json

    return int(pa_json.read_json(path).num_rows)


PARSERS: dict[str, Callable[[Path], int]] = {
    "msgspec": msgspec_parse,
    "pyarrow": pyarrow_parse,
}


def floor(path: Path) -> Floor:
    """Wall and CPU seconds of each parser on ``path``; ``best`` names the fastest."""
    out: dict[str, ParserTiming | ParserFailed] = {}
    timed: dict[str, ParserTiming] = {}
    for name, parse in PARSERS.items():
        w0, c0 = time.perf_counter(), time.process_time()
        try:
            lines = parse(path)
        except Exception as exc:  # a parser that cannot read the file is left out
            out[name] = ParserFailed(f"{type(exc).__name__}: {exc}"[:200])
            continue
        out[name] = timed[name] = ParserTiming(
            wall_s=round(time.perf_counter() - w0, 3),
            cpu_s=round(time.process_time() - c0, 3),
            lines=lines,
        )
    best = min(timed, key=lambda k: timed[k].wall_s) if timed else None
    return Floor(
        parsers=out,
        best=best,
        wall_s=timed[best].wall_s if best else None,
        cpu_s=timed[best].cpu_s if best else None,
    )
