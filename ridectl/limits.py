"""The bounds of what a user may hand ridectl: the files it reads, and the numbers Kafka takes.

Every option or setting that names a file to read passes it through :func:`readable_file`
before anything opens it: opening a FIFO for reading waits for a writer, and a device such as
``/dev/zero`` never ends, so either would hang the command. The numeric bounds are Kafka's own
(its protocol's field widths and its clients' ranges), named here once for every option."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ridectl.errors import UsageError

#: The largest file read whole (a client .properties file, a PEM file): 1 MiB, far more than
#: any real one and little enough to read at once.
READ_WHOLE_LIMIT = 1 << 20

#: Kafka's int32 fields and settings: partition counts and ids, millisecond timeouts, sizes.
INT32_MAX = 2**31 - 1
#: Kafka's int16 fields: a topic's replication factor.
INT16_MAX = 2**15 - 1
#: The highest TCP port.
PORT_MAX = 65_535
#: librdkafka's highest linger.ms (queue.buffering.max.ms): 15 minutes; the narrowest client.
LINGER_MS_MAX = 900_000
#: The longest wait in seconds an option takes: Kafka's int32 of milliseconds (about 24 days).
SECONDS_MAX = INT32_MAX / 1000
#: The most rides one run produces (five events each): ten million, some hours of producing.
RIDES_MAX = 10_000_000
#: The most of a thing an option counts where no protocol bounds it: threads, rides in
#: progress at once, zones, runs of a measurement.
COUNT_MAX = 10_000
#: The largest event an option pads to: 100 MiB, far past a broker's usual limit on a batch
#: (message.max.bytes, 1 MiB by default), which refuses it in its own words.
RECORD_SIZE_MAX = 100 << 20


def readable_file(path: Path, what: str, *, whole: bool = True) -> Path:
    """``path`` when it is a regular file that can be read (at most ``READ_WHOLE_LIMIT`` bytes
    when it is read ``whole``); else a :class:`UsageError` naming ``what`` and the path.

    Only ``stat`` is called: nothing is opened, so a FIFO or a device cannot block."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise UsageError(f"{what} not found: {path}") from None
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {_reason(exc)}") from None
    mode = info.st_mode
    if not stat.S_ISREG(mode):
        raise UsageError(f"cannot read {what} {path}: it is {_kind(mode)}, not a regular file")
    if not os.access(path, os.R_OK):
        raise UsageError(f"cannot read {what} {path}: permission denied")
    if whole and info.st_size > READ_WHOLE_LIMIT:
        raise UsageError(
            f"cannot read {what} {path}: {info.st_size:,} bytes, over the "
            f"{READ_WHOLE_LIMIT:,} read whole at most"
        )
    return path


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _reason(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()
