"""The binary frames between ridectl and its Java program, checked without a JVM: cutting the
program's output into frames however the reads split it, decoding a poll's records, the
writer thread's order and its end, and what the compiled class's cache key depends on. The
program's side of the frames is checked on the real broker (tests/test_client_java.py)."""

from __future__ import annotations

import contextlib
import os
import random
import select
import struct
import threading
import time

from ridectl.clients.base import ConsumedRecord
from ridectl.clients.java import build_key
from ridectl.clients.java_consumer import decode_columns, decode_records
from ridectl.clients.java_process import FrameSplitter, _Writer, text_frame


def _frame(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack(">i", len(body)) + body


def _records_body(records: list[ConsumedRecord]) -> bytes:
    """An ``r`` frame's body as RideClient.java writes it (columns, then the bytes)."""
    n = len(records)
    data = b"".join((r.key or b"") + (r.value or b"") for r in records)
    return b"".join(
        [
            struct.pack(">ii", n, len(data)),
            struct.pack(f">{n}i", *(r.partition for r in records)),
            struct.pack(f">{n}q", *(r.offset for r in records)),
            struct.pack(f">{n}i", *(-1 if r.key is None else len(r.key) for r in records)),
            struct.pack(f">{n}i", *(-1 if r.value is None else len(r.value) for r in records)),
            data,
        ]
    )


def test_frames_come_out_whole_and_in_order_however_the_reads_cut_them() -> None:
    acks = struct.pack(">i", 2) + struct.pack(">qiq", 7, 1, 40) + struct.pack(">qiq", 8, 0, 2**40)
    frames = [
        (ord("l"), b"S acks -1"),
        (ord("a"), acks),
        (ord("r"), _records_body([ConsumedRecord(2, 5, None, b"x" * 70_000)])),
        (ord("l"), b""),
        (ord("e"), struct.pack(">q", 9) + "TimeoutException late \u00e9".encode()),
        (ord("l"), b"READY"),
    ]
    stream = b"".join(_frame(bytes([kind]), body) for kind, body in frames)
    rng = random.Random(5)
    for cuts in ([], list(range(1, len(stream))), *([None] * 40)):
        if cuts is None:
            cuts = sorted(rng.sample(range(1, len(stream)), rng.randint(1, 30)))
        splitter = FrameSplitter()
        got: list[tuple[int, bytes]] = []
        for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
            got += [(kind, bytes(body)) for kind, body in splitter.feed(stream[start:end])]
        assert got == frames


def test_a_polls_records_decode_with_null_and_empty_keys_and_values_as_rows_or_columns() -> None:
    records = [
        ConsumedRecord(0, 0, b"ride-1", b'{"seq":0}'),
        ConsumedRecord(3, 2**33, None, b"v"),
        ConsumedRecord(1, 7, b"", None),
        ConsumedRecord(1, 8, None, None),
        ConsumedRecord(5, 1, b"k", b""),
    ]
    for batch in (records, records[:1], records[1:2], []):
        body = _records_body(batch)
        assert decode_records(body) == batch
        columns = decode_columns(body)
        assert columns.partitions == [r.partition for r in batch]
        assert columns.offsets == [r.offset for r in batch]
        assert columns.values == [r.value for r in batch]


def test_the_writer_keeps_the_order_of_every_write_and_reports_a_closed_pipe() -> None:
    read_fd, write_fd = os.pipe()
    writer = _Writer(write_fd)
    received = bytearray()

    def drain() -> None:
        while chunk := os.read(read_fd, 1 << 16):
            received.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    sent = [text_frame(f"command {i}") + bytes(i % 300) for i in range(20_000)]
    for data in sent:
        assert writer.put(data)
    writer.end()
    writer.thread.join(10)
    os.close(write_fd)
    reader.join(10)
    assert bytes(received) == b"".join(sent)

    read_fd, write_fd = os.pipe()
    writer = _Writer(write_fd)
    os.close(read_fd)  # the JVM is gone
    assert writer.put(b"x" * 1000)  # queued before the writer finds out
    writer.thread.join(10)
    assert writer.failed and not writer.put(b"more")
    os.close(write_fd)


def test_a_command_for_a_program_that_stopped_reading_does_not_hold_the_caller() -> None:
    """A JVM blocked elsewhere (a producer waiting for buffer room) reads nothing: the command
    is queued for the writer thread and the caller goes on to wait for its reply with a bound,
    instead of blocking in the write."""
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    with contextlib.suppress(BlockingIOError):
        while True:
            os.write(write_fd, bytes(1 << 16))  # the pipe full: nobody reads
    os.set_blocking(write_fd, True)
    writer = _Writer(write_fd)
    time.sleep(0.05)  # the writer thread waits for work
    done = threading.Event()

    def command() -> None:
        if writer.put_now(text_frame("F")):
            done.set()

    caller = threading.Thread(target=command, daemon=True)
    caller.start()
    caller.join(5)
    assert done.is_set(), "put_now blocked on a full pipe"
    received = bytearray()
    deadline = time.monotonic() + 10
    while not received.endswith(text_frame("F")):  # once the program reads again, it comes
        ready, _, _ = select.select([read_fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, "the queued command never came"
        received += os.read(read_fd, 1 << 16)
    writer.end()
    writer.thread.join(10)
    os.close(write_fd)
    os.close(read_fd)


def test_text_frames_carry_any_text_with_its_length() -> None:
    assert text_frame("C sasl.jaas.config a b\nc") == b"T" + struct.pack(">i", 24) + (
        b"C sasl.jaas.config a b\nc"
    )


def test_the_compiled_class_is_rebuilt_when_the_source_or_the_java_changes() -> None:
    key = build_key(b"class A {}", "/usr/bin/java")
    assert key == build_key(b"class A {}", "/usr/bin/java")
    assert key != build_key(b"class A { }", "/usr/bin/java")
    assert key != build_key(b"class A {}", "/opt/jdk-21/bin/java")
