"""Pure logic of the fault proxy: the stats' JSON round trip, the ledger's arithmetic, the
request log's retry and duplicate links, and the fault-kind table."""

from __future__ import annotations

import json

from kafka.record.memory_records import MemoryRecordsBuilder

from ridectl.faults.config import ProxyConfig
from ridectl.faults.kinds import ProduceCall, Verdict, behaviour_of
from ridectl.faults.protocol import ProduceInfo
from ridectl.faults.requests import RequestFate, RequestLog, ride_events
from ridectl.faults.runners import config_from_json, config_to_json
from ridectl.faults.spec import FaultKind, parse_fault_spec
from ridectl.faults.stats import (
    AnswerSource,
    Ledger,
    PartitionAnswer,
    ProduceAnswer,
    ProxyStats,
)


def _batch(*values: bytes) -> bytes:
    builder = MemoryRecordsBuilder(2, 0, 1 << 16)
    for value in values:
        builder.append(0, b"k", value)
    builder.close()
    return bytes(builder.buffer())


def _event(ride: str, seq: int) -> bytes:
    return json.dumps({"ride_id": ride, "seq": seq}).encode()


def test_stats_survive_the_json_pipe() -> None:
    log = RequestLog()
    log.open(1, 3, ("t:0",), [("t", 0, _batch(_event("r1", 1)))])
    log.settle(1, RequestFate.WRITTEN, base_offsets=(5,))
    records, dropped = log.snapshot()
    stats = ProxyStats(
        listen=("127.0.0.1:1",),
        routes={"127.0.0.1:1": "127.0.0.1:2"},
        bootstrap="127.0.0.1:1",
        faults=("error:every=3,code=REQUEST_TIMED_OUT",),
        connections_total=2,
        connections_open=0,
        connections_failed=1,
        requests_by_api={"Produce": 4},
        produce_requests=4,
        faults_injected={"error": 1},
        hit_requests=(3,),
        hits_by_fault={"error:every=3,code=REQUEST_TIMED_OUT": (3,)},
        rewritten_responses=1,
        max_in_flight=2,
        ledger=Ledger(received=4, broker_answered=3, fault_answered=1),
        produce_answers=(
            ProduceAnswer(3, 1, AnswerSource.FAULT, (PartitionAnswer("t", 0, 7),)),
            ProduceAnswer(4, 1, AnswerSource.REPLACED, (PartitionAnswer("t", 0, 7, 0, 12),)),
        ),
        answer_codes={"fault:7": 1},
        request_log=records,
        request_log_dropped=dropped,
    )
    text = json.dumps(stats.to_dict())
    assert ProxyStats.from_dict(json.loads(text)) == stats
    assert json.loads(text)["ledger"]["outstanding"] == 0


def test_the_ledger_shows_what_is_unaccounted() -> None:
    ledger = Ledger(received=10, broker_answered=4, fault_answered=2, no_answer=1, closed=1)
    assert ledger.accounted == 8 and ledger.outstanding == 2


def test_the_request_log_links_retries_and_duplicates() -> None:
    log = RequestLog()
    first = [("t", 0, _batch(_event("r1", 1), _event("r1", 2)))]
    log.open(1, 1, ("t:0",), first)
    log.open(2, 1, ("t:0",), [("t", 0, _batch(_event("r2", 1)))])
    log.settle(1, RequestFate.ACK_REPLACED, base_offsets=(0,), error_code=7)
    log.settle(2, RequestFate.WRITTEN, base_offsets=(2,))
    log.open(3, 2, ("t:0",), first)  # the retry of request 1
    log.settle(3, RequestFate.WRITTEN, base_offsets=(3,))
    log.settle(3, RequestFate.CLOSED)  # the first settlement stands
    records = {r.number: r for r in log.snapshot()[0]}
    assert records[3].retry_of == (1,) and records[3].duplicate_of == (1,)
    assert records[3].fate is RequestFate.WRITTEN
    assert records[2].retry_of == () and records[2].duplicate_of == ()
    assert [(e.ride_id, e.seq) for e in records[1].events] == [("r1", 1), ("r1", 2)]


def test_values_that_are_not_ride_events_are_counted_not_listed() -> None:
    data = _batch(b"plain", b"[1, 2]", b'{"ride_id": 3, "seq": 1}', _event("r9", 4), b"")
    events, records = ride_events([("t", 1, data), ("t", 2, b"\x00garbage")])
    assert records == 5
    assert [(e.ride_id, e.seq, e.partition) for e in events] == [("r9", 4, 1)]


def test_every_kind_has_one_behaviour() -> None:
    info = ProduceInfo(acks=1, topics=(("t", None, (0,)),))
    call = ProduceCall(info, 9, 42)
    verdicts = {}
    for kind in FaultKind:
        spec = parse_fault_spec(f"{kind}:ms=5" if kind is FaultKind.DELAY else str(kind))
        behaviour = behaviour_of(spec)
        assert behaviour.kind is kind
        verdicts[kind] = behaviour.on_request(spec, call)[0]
    assert verdicts == {
        FaultKind.ERROR: Verdict.KEEP,
        FaultKind.LOST_ACK: Verdict.FORWARD,
        FaultKind.DELAY: Verdict.FORWARD,
        FaultKind.DISCONNECT: Verdict.DROP_CONNECTION,
    }


def test_the_config_crosses_to_the_child_as_specs_not_text() -> None:
    specs = (parse_fault_spec("error:rate=0.5,seed=3,hold=2"), parse_fault_spec("delay:ms=7"))
    config = ProxyConfig("127.0.0.1:9092", specs, listen_port=9192, frame_timeout_s=2.5)
    assert config_from_json(config_to_json(config, 20)) == (config, 20)
