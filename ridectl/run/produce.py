"""Producing a run: interleaved ride lifecycles sent asynchronously with the settings asked for.

The producer only *records* what happened (acknowledgements with partition and offset,
failures, latencies); whether order held is decided later by the checker on what a consumer
reads back. Records go through the client seam (:mod:`ridectl.clients.base`), so any client
ridectl drives sends the same rides.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from typing import Any, cast

from ridectl.clients.admin import ensure_topic
from ridectl.clients.base import (
    BlockProducer,
    ClientName,
    ClientProcess,
    ProducerClient,
    ProducerDiagnostics,
)
from ridectl.clients.factory import make_producer
from ridectl.clients.idempotence import check_idempotence
from ridectl.clients.setting_names import SettingName
from ridectl.errors import RidectlError, UsageError, is_interrupt, require_positive
from ridectl.run.options import ProduceOptions, ProduceResult, ride_ids, settings_id
from ridectl.run.outcomes import Outcomes
from ridectl.run.placement import KeyBy, Placement, client_hash
from ridectl.run.records import lay_out
from ridectl.run.send_loop import SendLoop


def _validate(opts: ProduceOptions) -> None:
    require_positive("--rides", opts.rides)
    require_positive("--concurrent", opts.concurrent)
    if opts.key_by not in ("ride", "zone"):
        raise UsageError(f"--key-by must be ride or zone, not {opts.key_by}")
    if not 0.0 <= opts.hot_share <= 1.0:
        raise UsageError(f"--hot-share must be between 0 and 1, not {opts.hot_share}")
    require_positive("--zones", opts.zones)
    if opts.pace_events_per_s is not None and opts.pace_events_per_s <= 0:
        raise UsageError(f"the send rate must be above 0, not {opts.pace_events_per_s}")
    check_idempotence(opts.settings)


def run_produce(opts: ProduceOptions) -> ProduceResult:
    """Create the topic if needed, send the run, wait for every acknowledgement.

    A broker that stops answering mid-run does not lose the record of what was acknowledged:
    the result comes back with ``aborted`` set, for the caller to report and then fail."""
    _validate(opts)
    from ridectl.run.store import new_run_id

    run_id = opts.run_id or new_run_id()
    topic = ensure_topic(opts.settings, opts.topic, opts.partitions, opts.replication)
    if opts.grow_to is not None and opts.grow_to <= topic.partitions:
        raise UsageError(
            f"--grow-to must be more than the topic's {topic.partitions} partitions, "
            f"not {opts.grow_to}"
        )
    result = ProduceResult(run_id, topic, opts.keyed, opts.rides, opts.seed, client=opts.client)
    settings = opts.settings
    if opts.grow_to is not None and settings.get(SettingName.METADATA_MAX_AGE_MS) is None:
        # A producer learns of new partitions when its metadata expires (5 minutes by
        # default); a 1 s age lets the second half of the run use them.
        settings = dataclasses.replace(
            settings, values={**settings.values, SettingName.METADATA_MAX_AGE_MS: "1000"}
        )
    outcomes = Outcomes(result, ride_ids(opts.rides), watch_expiry=not opts.faults)

    with contextlib.ExitStack() as stack:
        bootstrap: str | None = None
        proxy: Any = None
        if opts.faults:
            from ridectl.faults.proxy import FaultProxy

            proxy = stack.enter_context(FaultProxy(settings.bootstrap, list(opts.faults)))
            bootstrap = proxy.bootstrap
            result.proxy_address = bootstrap

        def start(partitioner: str | None, name: ClientName = opts.client) -> ProducerClient:
            client = make_producer(
                name,
                settings,
                opts.topic,
                outcomes,
                bootstrap=bootstrap,
                partitioner=partitioner,
            )
            stack.callback(_close, client, result)
            return client

        producer = start(opts.partitioner)
        # A second client (another service, another library) sends some of the events.
        other = None
        if opts.second_partitioner is not None or opts.second_client is not None:
            other = start(opts.second_partitioner, opts.second_client or opts.client)
        result.effective = dict(producer.settings_in_force())
        if isinstance(producer, ProducerDiagnostics):
            result.changed_by_client = producer.changed_by_client()
        result.settings_id = settings_id(opts.keyed, result.effective)
        try:
            _send_all(producer, other, opts, result, outcomes)
        finally:
            result.batch_retries = _retried_batches(producer, other)
    if proxy is not None:
        # After the producers and the proxy closed: the final stats, with nothing in flight.
        result.fault_stats = proxy.stats()
    # After the producers closed: no delivery can arrive any more.
    outcomes.settle()
    result.acked = len(result.acks)
    result.failed = sum(result.errors.values())
    # Every record with an outcome was sent: a run stopped inside a block of records (Ctrl-C,
    # a client gone) counts the records of that block that reached the client.
    result.sent = max(result.sent, result.acked + result.failed)
    result.per_partition.update(a.partition for a in result.acks)
    result.placement = _placement(opts, result)
    return result


def _placement(opts: ProduceOptions, result: ProduceResult) -> Placement:
    second = opts.second_partitioner is not None or opts.second_client is not None
    second_client = opts.second_client or opts.client
    return Placement(
        client=opts.client,
        keyed=opts.keyed,
        key_by=KeyBy(opts.key_by),
        hash=client_hash(opts.client, opts.partitioner, result.effective),
        partitions=result.topic.partitions,
        second_hash=client_hash(second_client, opts.second_partitioner, opts.settings.values)
        if second
        else None,
        second_seqs=opts.second_seqs if second else frozenset(),
        grown=result.grown,
    )


def _retried_batches(*clients: ProducerClient | None) -> int:
    """Batches the producers retried, as far as their libraries tell."""
    total = 0
    for client in clients:
        if client is not None and isinstance(client, ProducerDiagnostics):
            total += client.retried_batches()
    return total


def _close(producer: ProducerClient, result: ProduceResult) -> None:
    """Give in-flight requests a bounded chance to finish; never hang on a dead broker."""
    producer.close(5 if (result.interrupted or result.aborted) else 30)


def _send_all(
    producer: ProducerClient,
    other: ProducerClient | None,
    opts: ProduceOptions,
    result: ProduceResult,
    outcomes: Outcomes,
) -> None:
    records = lay_out(producer, other, opts, result, outcomes)
    clock = outcomes.clock

    def at_checkpoint(index: int) -> None:
        if index == loop.checkpoints.grow_at:
            _grow_mid_run(producer, other, opts, result)
        _report(opts, outcomes, index)

    loop = SendLoop(opts, outcomes, records, at_checkpoint)
    c0 = time.process_time()
    k0 = _client_cpu(producer)
    t0 = clock()
    try:
        staging = loop.staging_possible(producer, other is None)
        if not opts.faults:
            # Learn the topic's partitions before the clock starts (the first send would wait
            # for them); through the fault proxy the run is not timed, and a fault may hold
            # the answer. A producer that can hold records is handed them now too, so that
            # the clock covers their sends, not their way into the client.
            _learn_partitions(producer, opts.topic)
            if staging is not None:
                loop.stage(staging, opts.stage_budget_bytes)
            c0, k0 = time.process_time(), _client_cpu(producer)
            t0 = clock()
        if staging is not None and loop.held:
            loop.send_staged(staging)
            if loop.sent == loop.held:  # not stopped: the rest of a run over the budget
                loop.send_blocks(staging, loop.held)
        elif loop.blocks_possible(producer, other is None):
            loop.send_blocks(cast(BlockProducer, producer))
        else:
            loop.send_each(producer.send)
        result.sent = loop.sent
        _finish(producer, other, opts, result, outcomes)
    except (KeyboardInterrupt, SystemError) as exc:
        if not is_interrupt(exc):
            raise
        result.interrupted = True
        result.sent = loop.sent
    except UsageError:
        raise  # the records or settings cannot work (a record too large): nothing to report
    except RidectlError as exc:
        # send() blocks when the buffer is full and the broker is gone.
        result.sent = max(loop.sent, outcomes.with_outcome())
        result.aborted = (
            f"producing to {opts.topic}: Kafka at {opts.settings.bootstrap} stopped accepting "
            f"records after {result.sent} sends ({exc})"
        )
    finally:
        # A run stopped early counts at least every record with an outcome (held records
        # the client was still sending when stopped are counted by their outcomes).
        result.sent = max(result.sent, outcomes.with_outcome())
        result.elapsed_s = clock() - t0
        result.cpu_s = time.process_time() - c0
        k1 = _client_cpu(producer)
        result.client_cpu_s = None if k0 is None or k1 is None else k1 - k0
        values = records.values
        result.bytes_sent = (
            loop.encoded_bytes if values is None else sum(map(len, values[: result.sent]))
        )
        _report(opts, outcomes, result.sent)


def _client_cpu(producer: ProducerClient) -> float | None:
    return producer.process_cpu_s() if isinstance(producer, ClientProcess) else None


def _learn_partitions(producer: ProducerClient, topic: str) -> None:
    """Ask the client for the topic's partitions; a client that gave up waiting (the broker
    is gone) ends the run as a send would, anything else is left to the first send."""
    try:
        producer.partitions_for(topic)
    except RidectlError:
        raise
    except Exception:  # the first send meets the same problem and reports it
        pass


def _report(opts: ProduceOptions, outcomes: Outcomes, sent: int) -> None:
    """Progress: ``sent`` as the loop knows it, raised to the records with an outcome (read
    after the acknowledged count, so never below it): a client holding records tells how
    many it sent only at the end."""
    if opts.progress is not None:
        acked = outcomes.acknowledged()
        opts.progress(max(sent, acked + len(outcomes.failed)), acked)


def _finish(
    producer: ProducerClient,
    other: ProducerClient | None,
    opts: ProduceOptions,
    result: ProduceResult,
    outcomes: Outcomes,
) -> None:
    """Wait for the outcome of every record sent; note a broker that stopped answering."""
    # Every record either completes or expires within delivery.timeout.ms of its send, so a
    # flush that takes longer than that (plus a margin) means the client is stuck on a broker
    # that went away; it then ends with a timeout instead of hanging.
    timeout_ms = result.effective.get(SettingName.DELIVERY_TIMEOUT_MS, "")
    wait_s = (int(timeout_ms) if timeout_ms.isdigit() else 120_000) / 1000.0 + 5.0
    where = f"Kafka at {opts.settings.bootstrap}"
    flushed = producer.flush(wait_s) and (other is None or other.flush(wait_s))
    if not flushed:
        result.aborted = (
            f"producing to {opts.topic}: {where} stopped acknowledging; records sent were "
            f"still unacknowledged {wait_s:g}s later (delivery.timeout.ms + 5s)"
        )
        return
    gone = outcomes.gone()
    if gone and not opts.faults:
        # Records expired unacknowledged: the broker stopped answering during the run.
        result.aborted = (
            f"producing to {opts.topic}: {where} stopped acknowledging; "
            f"{gone} event(s) timed out unacknowledged"
        )


def _grow_mid_run(
    producer: ProducerClient,
    other: ProducerClient | None,
    opts: ProduceOptions,
    result: ProduceResult,
) -> None:
    """Add partitions, then wait until the producers' metadata shows them, so the rest of
    the run is placed with the new count (as a long-running producer eventually would)."""
    from ridectl.clients.admin import grow

    assert opts.grow_to is not None
    grow(opts.settings, opts.topic, opts.grow_to)
    result.grown = (result.topic.partitions, opts.grow_to)
    deadline = time.monotonic() + 30
    for client in (producer, other):
        if client is None:
            continue
        while client.partitions_for(opts.topic) < opts.grow_to:
            if time.monotonic() > deadline:
                raise RidectlError(
                    "the producer did not see the new partitions within 30s",
                    hint="lower -X metadata.max.age.ms",
                )
            time.sleep(0.05)
