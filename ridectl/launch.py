"""The console script: starts reading the history of ``check --from FILE`` before the rest.

Importing the command line (Typer, Rich, pydantic through Typer, the commands) and parsing
the arguments take a few tenths of a second of one core; the history's parse runs on other
threads without the interpreter lock. So when the arguments plainly ask for ``check --from
FILE``, the read is begun first and the command finds it under way (``ridectl.judge.
arrow_read.take``). The command line itself is still parsed by Typer, and the command takes
the read begun only for the same file and run; anything this sketch of the arguments gets
wrong costs time, never a different answer.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path


def early_check_file(argv: list[str]) -> tuple[Path, str | None] | None:
    """``(file, run id)`` when ``argv`` is ``check`` with ``--from FILE`` (not stdin)."""
    if not argv or argv[0] != "check":
        return None
    options: dict[str, str] = {}
    rest = iter(argv[1:])
    for arg in rest:
        if arg == "--":
            break
        name, eq, value = arg.partition("=")
        if name in ("--from", "--run-id"):
            if not eq:
                value = next(rest, "")
            options[name] = value
    source = options.get("--from", "")
    if source in ("", "-"):
        return None
    return Path(source), options.get("--run-id")


def main() -> None:
    from ridectl.phases import mark

    mark("interpreter")
    from ridectl.errors import note_interrupts

    note_interrupts()
    try:
        wanted = early_check_file(sys.argv[1:])
        if wanted is not None:
            # A bounded job (read, judge, print) that builds its objects once and keeps them:
            # the cyclic collector only rescans them (some 20-30 ms of imports and judging).
            gc.disable()
            # numpy's OpenBLAS starts a pool of threads as it loads, which spin for a while
            # on the cores the reader threads need; nothing on this path multiplies matrices
            os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
            from ridectl.judge.arrow_read import begin

            begin(*wanted)
            mark("read begun (numpy, pyarrow imported)")
        from ridectl.cli import main as cli_main

        cli_main()
    except KeyboardInterrupt:
        # Ctrl-C before the command line's own handler is in place (during the imports)
        from ridectl.errors import ExitCode

        sys.stderr.write("interrupted\n")
        sys.exit(ExitCode.INTERRUPTED)
