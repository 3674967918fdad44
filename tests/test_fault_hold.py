"""When a held error answer (``error:...,hold=N``) goes to the client: the pure bookkeeping of
ridectl.faults.hold, without sockets or a broker."""

from __future__ import annotations

import asyncio
import struct

from ridectl.faults.hold import HeldAnswers
from ridectl.faults.protocol import ProduceInfo
from ridectl.faults.requests import HoldRelease, RequestLog

NEVER_S = 1000.0  # a fallback no test reaches: only the count or an in-flight-1 client counts


def _book(fallback_s: float = NEVER_S) -> tuple[HeldAnswers, RequestLog]:
    log = RequestLog()
    return HeldAnswers(log, fallback_s), log


def _request(book: HeldAnswers, log: RequestLog, number: int) -> None:
    log.open(number, 1, ("t:0",), ())
    book.arrived(expects_answer=True)


def _released(log: RequestLog, number: int) -> tuple[HoldRelease | None, int]:
    records, _ = log.snapshot()
    record = next(r for r in records if r.number == number)
    return record.released_by, record.sent_while_held


def test_a_pipelining_clients_error_waits_for_exactly_n_more_requests() -> None:
    async def scenario() -> tuple[list[bool], tuple[HoldRelease | None, int]]:
        book, log = _book()
        first = asyncio.get_running_loop().create_future()
        failed = asyncio.get_running_loop().create_future()
        _request(book, log, 1)
        _request(book, log, 2)  # two owed at once: the client pipelines
        book.hold(2, failed, b"error", after=3)
        book.writer_waits_on(first)
        first.set_result(b"ok")
        book.answer_written()
        book.writer_waits_on(failed)  # the held answer is next, the client is silent
        await asyncio.sleep(0.05)
        states = [failed.done()]
        for number in (3, 4, 5):
            _request(book, log, number)
            book.after_request()
            states.append(failed.done())
        return states, _released(log, 2)

    states, released = asyncio.run(scenario())
    assert states == [False, False, False, True]
    assert released == (HoldRelease.COUNT, 3)


def test_silence_while_earlier_answers_are_owed_releases_nothing() -> None:
    async def scenario() -> bool:
        book, log = _book(fallback_s=0.01)
        earlier = asyncio.get_running_loop().create_future()
        failed = asyncio.get_running_loop().create_future()
        _request(book, log, 1)
        _request(book, log, 2)
        book.hold(2, failed, b"error", after=4)
        book.writer_waits_on(earlier)  # the broker has not answered request 1 yet
        await asyncio.sleep(0.1)
        return failed.done()

    assert asyncio.run(scenario()) is False


def test_a_pipelining_client_silent_past_the_fallback_gets_its_answer() -> None:
    async def scenario() -> tuple[bytes, tuple[HoldRelease | None, int]]:
        book, log = _book(fallback_s=0.01)
        failed = asyncio.get_running_loop().create_future()
        for number in (1, 2):
            _request(book, log, number)
        book.hold(2, failed, b"error", after=4)
        _request(book, log, 3)
        book.after_request()
        book.answer_written()  # request 1 answered; the held one is next
        book.writer_waits_on(failed)
        data = await asyncio.wait_for(failed, 60)
        return data, _released(log, 2)

    data, released = asyncio.run(scenario())
    assert data == b"error"
    assert released == (HoldRelease.IDLE, 1)


def test_an_in_flight_one_client_is_answered_as_soon_as_its_error_is_next() -> None:
    async def scenario() -> tuple[bool, bool, tuple[HoldRelease | None, int]]:
        book, log = _book()
        before = asyncio.get_running_loop().create_future()
        failed = asyncio.get_running_loop().create_future()
        _request(book, log, 1)
        book.writer_waits_on(before)
        before.set_result(b"ok")
        book.answer_written()
        _request(book, log, 2)  # never more than one answer owed
        book.hold(2, failed, b"error", after=4)
        book.after_request()
        waiting = failed.done()  # the writer has not reached it yet
        book.writer_waits_on(failed)
        return waiting, failed.done(), _released(log, 2)

    waiting, answered, released = asyncio.run(scenario())
    assert (waiting, answered) == (False, True)
    assert released == (HoldRelease.ALONE, 0)


def test_release_facts_survive_the_json_round_trip() -> None:
    log = RequestLog()
    log.open(7, 2, ("t:0",), ())
    log.released(7, HoldRelease.COUNT, 4)
    (record,), _ = log.snapshot()
    again = type(record).from_dict(record.to_dict())
    assert again == record
    assert record.to_dict()["released_by"] == "count"
    assert (again.released_by, again.sent_while_held) == (HoldRelease.COUNT, 4)


def test_an_idempotent_producers_error_goes_after_a_short_silence_once_next() -> None:
    async def scenario() -> tuple[bytes, tuple[HoldRelease | None, int]]:
        book, log = _book()  # the pipelining fallback is never reached here
        failed = asyncio.get_running_loop().create_future()
        for number in (1, 2):
            _request(book, log, number)
        book.hold(2, failed, b"error", after=4, sequenced=True)
        book.answer_written()
        book.writer_waits_on(failed)
        data = await asyncio.wait_for(failed, 60)
        return data, _released(log, 2)

    data, released = asyncio.run(scenario())
    assert data == b"error"
    assert released == (HoldRelease.IDLE, 0)


def _v2_batch(producer_id: int) -> bytes:
    head = bytes(16) + b"\x02" + bytes(26)  # magic 2 at byte 16; producer id at byte 43
    return head + struct.pack(">q", producer_id) + bytes(10)


def test_batches_with_a_producer_id_are_sequenced() -> None:
    plain = ProduceInfo(-1, (), (("t", 0, _v2_batch(-1)),))
    idempotent = ProduceInfo(-1, (), (("t", 0, _v2_batch(4000)),))
    assert (plain.sequenced, idempotent.sequenced) == (False, True)
    assert ProduceInfo(-1, (), (("t", 0, b"short"),)).sequenced is False
