"""``ridectl produce``: argument parsing only; the run is made by ridectl.run.produce and shown by
ridectl.output.run."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ridectl.cli.options import (
    Bootstrap,
    Client,
    ConfigFile,
    TableOrJson,
    Topic,
    XOption,
    settings_from,
)
from ridectl.clients.partitioners import PartitionerName
from ridectl.clients.registry import DEFAULT_CLIENT
from ridectl.clients.setting_names import SettingName
from ridectl.errors import ExitCode, RidectlError
from ridectl.limits import (
    COUNT_MAX,
    INT16_MAX,
    INT32_MAX,
    LINGER_MS_MAX,
    RECORD_SIZE_MAX,
    RIDES_MAX,
)
from ridectl.output import console
from ridectl.output.console import progress_bar
from ridectl.output.formats import Format, Views, emit

if TYPE_CHECKING:
    from ridectl.run.options import ProduceOptions, ProduceResult


class Acks(StrEnum):
    all = "all"
    minus_one = "-1"
    one = "1"
    zero = "0"


class KeyBy(StrEnum):
    ride = "ride"
    zone = "zone"


Keyed = Annotated[
    bool,
    typer.Option(
        "--keyed/--unkeyed",
        help="Key each event by its ride_id, or send it without a key.",
    ),
]
Partitions = Annotated[
    int | None,
    typer.Option(
        "--partitions",
        "-p",
        help="Partitions of a new topic (default: 6; an existing topic keeps its own).",
        show_default=False,
        rich_help_panel="Topic",
        min=1,
        max=INT32_MAX,
    ),
]
ReplicationFactor = Annotated[
    int,
    typer.Option(
        "--replication-factor",
        help="Replicas of a new topic.",
        rich_help_panel="Topic",
        min=1,
        max=INT16_MAX,
    ),
]
MaxInFlight = Annotated[
    int | None,
    typer.Option(
        "--max-in-flight",
        help="Unacknowledged requests per connection (client default: 5).",
        rich_help_panel="Producer settings",
        show_default=False,
        min=1,
        max=INT32_MAX,
    ),
]
Retries = Annotated[
    int | None,
    typer.Option(
        "--retries",
        help="retries (client default: no limit but the delivery timeout).",
        rich_help_panel="Producer settings",
        show_default=False,
        min=0,
        max=INT32_MAX,
    ),
]
Idempotence = Annotated[
    bool | None,
    typer.Option(
        "--idempotence/--no-idempotence",
        help="enable.idempotence (client default: on, unless another setting conflicts).",
        rich_help_panel="Producer settings",
        show_default=False,
    ),
]
AcksOpt = Annotated[
    Acks | None,
    typer.Option(
        "--acks",
        help="acks (client default: all).",
        rich_help_panel="Producer settings",
        show_default=False,
    ),
]
LingerMs = Annotated[
    int | None,
    typer.Option(
        "--linger-ms",
        help="linger.ms (client default: 0).",
        rich_help_panel="Producer settings",
        show_default=False,
        min=0,
        max=LINGER_MS_MAX,
    ),
]
BatchSize = Annotated[
    int | None,
    typer.Option(
        "--batch-size",
        help="batch.size in bytes (client default: 16384).",
        rich_help_panel="Producer settings",
        show_default=False,
        min=0,
        max=INT32_MAX,
    ),
]
Seed = Annotated[
    int | None,
    typer.Option("--seed", help="Seed of the interleaving, to repeat a run exactly."),
]
Concurrent = Annotated[
    int,
    typer.Option("--concurrent", help="Rides in progress at the same time.", min=1, max=COUNT_MAX),
]
RecordSize = Annotated[
    int | None,
    typer.Option(
        "--record-size",
        help="Pad each event's JSON to about this many bytes.",
        show_default=False,
        min=0,
        max=RECORD_SIZE_MAX,
    ),
]
Partitioner = Annotated[
    PartitionerName | None,
    typer.Option(
        "--partitioner",
        help="Place keyed records as this client would: murmur2 (Java, kafka-python), "
        "crc32 (librdkafka), fnv1a (Sarama), murmur3.",
        metavar="NAME",
        show_default=False,
        rich_help_panel="Keys and partitioners",
    ),
]
KeyByOpt = Annotated[
    KeyBy,
    typer.Option(
        "--key-by",
        help="With --keyed: key by ride id, or by pickup zone (hot keys: --hot-share of "
        "the rides start at the airport).",
        rich_help_panel="Keys and partitioners",
    ),
]
HotShare = Annotated[
    float,
    typer.Option(
        "--hot-share",
        help="With --key-by zone: share of airport rides.",
        rich_help_panel="Keys and partitioners",
        min=0.0,
        max=1.0,
    ),
]
Zones = Annotated[
    int,
    typer.Option(
        "--zones",
        help="With --key-by zone: zone count.",
        rich_help_panel="Keys and partitioners",
        min=1,
        max=COUNT_MAX,
    ),
]
GrowTo = Annotated[
    int | None,
    typer.Option(
        "--grow-to",
        help="Add partitions up to this count halfway through the run (keys remap).",
        show_default=False,
        rich_help_panel="Topic",
        min=1,
        max=INT32_MAX,
    ),
]
PaymentPartitioner = Annotated[
    PartitionerName | None,
    typer.Option(
        "--payment-partitioner",
        help="Send PaymentProcessed from a second producer that places keys like NAME "
        "(see --partitioner): two services, two client libraries, one key.",
        metavar="NAME",
        show_default=False,
        rich_help_panel="Keys and partitioners",
    ),
]
Fault = Annotated[
    list[str] | None,
    typer.Option(
        "--fault",
        help="Inject failures through a fault proxy, e.g. error:every=3, lost-ack:first=2, "
        "delay:ms=200, disconnect:every=10. Repeatable.",
        metavar="SPEC",
        rich_help_panel="Faults",
    ),
]
RequestLog = Annotated[
    bool,
    typer.Option(
        "--request-log",
        help="With --format json and --fault: every request the proxy saw, not a summary.",
        rich_help_panel="Output",
    ),
]


def produce(
    topic: Topic,
    rides: Annotated[
        int, typer.Option("--rides", "-n", help="How many ride lifecycles.", min=1, max=RIDES_MAX)
    ] = 1000,
    keyed: Keyed = True,
    partitions: Partitions = None,
    replication_factor: ReplicationFactor = 1,
    max_in_flight: MaxInFlight = None,
    retries: Retries = None,
    idempotence: Idempotence = None,
    acks: AcksOpt = None,
    linger_ms: LingerMs = None,
    batch_size: BatchSize = None,
    seed: Seed = None,
    concurrent: Concurrent = 64,
    record_size: RecordSize = None,
    partitioner: Partitioner = None,
    key_by: KeyByOpt = KeyBy.ride,
    hot_share: HotShare = 0.5,
    zones: Zones = 12,
    grow_to: GrowTo = None,
    payment_partitioner: PaymentPartitioner = None,
    fault: Fault = None,
    fmt: TableOrJson = Format.table,
    request_log: RequestLog = False,
    client: Client = DEFAULT_CLIENT,
    bootstrap_servers: Bootstrap = None,
    config: ConfigFile = None,
    x: XOption = None,
) -> None:
    """Produce interleaved ride lifecycles and report what the broker acknowledged.

    --max-in-flight stands for max.in.flight.requests.per.connection."""
    from ridectl.run.options import ProduceOptions

    asked = {
        SettingName.MAX_IN_FLIGHT: _s(max_in_flight),
        SettingName.RETRIES: _s(retries),
        SettingName.ENABLE_IDEMPOTENCE: None if idempotence is None else str(idempotence).lower(),
        SettingName.ACKS: None if acks is None else acks.value,
        SettingName.LINGER_MS: _s(linger_ms),
        SettingName.BATCH_SIZE: _s(batch_size),
    }
    settings = settings_from(bootstrap_servers, config, x, clients=(client,), options=asked)
    opts = ProduceOptions(
        topic=topic,
        rides=rides,
        settings=settings,
        keyed=keyed,
        partitions=partitions,
        replication=replication_factor,
        seed=seed,
        concurrent=concurrent,
        padding=max(0, (record_size or 0) - 190),
        partitioner=partitioner.value if partitioner else None,
        faults=_parse_faults(fault),
        key_by=key_by.value,
        hot_share=hot_share,
        zones=zones,
        grow_to=grow_to,
        second_partitioner=payment_partitioner.value if payment_partitioner else None,
        client=client,
    )
    _report(_send(opts), fmt, request_log)


def _send(opts: ProduceOptions) -> ProduceResult:
    """Produce the run (a progress bar on a terminal) and remember it for later commands."""
    from ridectl.clients.kafka_python_errors import client_errors
    from ridectl.run.flow import produce as run_produce

    bar = progress_bar("producing")
    with client_errors(opts.settings, f"producing to {opts.topic}"):
        if bar is None:
            return run_produce(opts, remember=True)
        with bar:
            task = bar.add_task("producing", total=opts.rides * 5, extra="")
            opts.progress = lambda sent, acked: bar.update(
                task, completed=sent, extra=f"{acked} acknowledged"
            )
            return run_produce(opts, remember=True)


def _report(result: ProduceResult, fmt: Format, request_log: bool) -> None:
    """Show the run, then exit as it ended: aborted, interrupted, or with records that were
    not written."""
    from ridectl.output.run import produce_json, render_produce

    if result.not_remembered:
        console.err().print(f"warning: {result.not_remembered}")
    emit(
        fmt,
        Views(
            table=lambda out: render_produce(out, result),
            json=lambda: produce_json(result, whole_request_log=request_log),
        ),
    )
    if result.aborted:
        raise RidectlError(result.aborted, hint="the summary above shows what was acknowledged")
    if result.interrupted:
        raise typer.Exit(ExitCode.INTERRUPTED)
    if result.failed:
        raise _not_written(result)


def _not_written(result: ProduceResult) -> RidectlError:
    """Records that ended in an error: the run did not do what was asked (exit 1, like a
    check that found violations), after the summary has been shown."""
    names = ", ".join(f"{k} x{v}" for k, v in result.errors.most_common())
    return RidectlError(
        f"{result.client.value}: {result.failed} of {result.sent} events were not written "
        f"({names})",
        hint="the summary above shows what was acknowledged",
        code=ExitCode.FOUND,
    )


def _s(value: int | None) -> str | None:
    return None if value is None else str(value)


def _parse_faults(specs: list[str] | None) -> list[Any]:
    if not specs:
        return []
    from ridectl.faults.spec import parse_fault_spec

    return [parse_fault_spec(s) for s in specs]


def register(app: typer.Typer) -> None:
    """Attach ``produce`` to the root app."""
    app.command()(produce)
