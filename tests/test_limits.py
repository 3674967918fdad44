"""The guard on files a user names and the numeric bounds of client settings, alone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ridectl.cli.paths import check_writable
from ridectl.clients.settings import SETTINGS
from ridectl.errors import UsageError
from ridectl.limits import INT32_MAX, LINGER_MS_MAX, READ_WHOLE_LIMIT, readable_file


def test_a_regular_file_up_to_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "c.properties"
    with path.open("wb") as fh:
        fh.truncate(READ_WHOLE_LIMIT)
    assert readable_file(path, "config file") == path


def test_one_byte_over_the_limit_is_refused_only_when_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "h.ndjson"
    with path.open("wb") as fh:
        fh.truncate(READ_WHOLE_LIMIT + 1)
    with pytest.raises(UsageError, match="over the 1,048,576 read whole"):
        readable_file(path, "config file")
    assert readable_file(path, "history file", whole=False) == path


@pytest.mark.parametrize(
    ("make", "kind"),
    [("fifo", "a FIFO"), ("dir", "a directory"), ("nothing", None)],
)
def test_what_is_no_regular_file_is_refused_without_opening_it(
    tmp_path: Path, make: str, kind: str | None
) -> None:
    path = tmp_path / "x"
    if make == "fifo":
        os.mkfifo(path)
    elif make == "dir":
        path.mkdir()
    expected = f"cannot read history file {path}: it is {kind}" if kind else "not found"
    with pytest.raises(UsageError, match=expected):
        readable_file(path, "history file", whole=False)


def test_a_device_is_refused() -> None:
    with pytest.raises(UsageError, match="it is a device, not a regular file"):
        readable_file(Path("/dev/zero"), "config file")


def test_a_fifo_with_a_reader_can_still_be_written(tmp_path: Path) -> None:
    """Process substitution (``--out >(gzip > x)``) hands over a pipe that is read."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="a FIFO that nothing reads"):
        check_writable(fifo, "the history")
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        check_writable(fifo, "the history")
    finally:
        os.close(reader)


@pytest.mark.parametrize(
    ("key", "ok", "past"),
    [
        ("request.timeout.ms", INT32_MAX, INT32_MAX + 1),
        ("batch.size", INT32_MAX, INT32_MAX + 1),
        ("retries", INT32_MAX, INT32_MAX + 1),
        ("max.in.flight.requests.per.connection", INT32_MAX, INT32_MAX + 1),
        ("linger.ms", LINGER_MS_MAX, LINGER_MS_MAX + 1),
        ("receive.buffer.bytes", -INT32_MAX - 1, -INT32_MAX - 2),
    ],
)
def test_integer_settings_stop_at_the_clients_bounds(key: str, ok: int, past: int) -> None:
    assert SETTINGS[key].parse(key, str(ok)) == ok
    with pytest.raises(UsageError, match=f"setting {key} must be at (most|least)"):
        SETTINGS[key].parse(key, str(past))
