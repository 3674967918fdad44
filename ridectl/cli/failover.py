"""``ridectl failover``: kill the busiest partition leader of a 3-node local cluster mid-run."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from ridectl.cli.broker import StateDir
from ridectl.cli.options import (
    Bootstrap,
    Client,
    ConfigFile,
    TableOrJson,
    XOption,
    settings_from,
)
from ridectl.clients.registry import DEFAULT_CLIENT
from ridectl.limits import INT32_MAX, RIDES_MAX
from ridectl.output import console
from ridectl.output.formats import Format, Views, emit


class FailoverAcks(StrEnum):
    all = "all"
    one = "1"


Acks = Annotated[
    FailoverAcks,
    typer.Option("--acks", help="acks of the producer.", rich_help_panel="Producer settings"),
]
Idempotence = Annotated[
    bool,
    typer.Option(
        "--idempotence/--no-idempotence",
        help="enable.idempotence of the producer.",
        rich_help_panel="Producer settings",
    ),
]
MaxInFlight = Annotated[
    int,
    typer.Option(
        "--max-in-flight",
        help="Unacknowledged requests per connection.",
        rich_help_panel="Producer settings",
        min=1,
        max=INT32_MAX,
    ),
]
Partitions = Annotated[
    int,
    typer.Option(
        "--partitions", "-p", help="Partitions of the scenario's topic.", min=1, max=INT32_MAX
    ),
]
KillAt = Annotated[
    float,
    typer.Option("--kill-at", help="Kill the leader when this share of events was sent."),
]
Seed = Annotated[
    int | None, typer.Option("--seed", help="Seed of the interleaving.", show_default=False)
]
KeepTopic = Annotated[
    bool, typer.Option("--keep-topic", help="Leave the scenario's topic for inspection.")
]


def failover(
    rides: Annotated[
        int, typer.Option("--rides", "-n", help="How many ride lifecycles.", min=1, max=RIDES_MAX)
    ] = 10_000,
    acks: Acks = FailoverAcks.all,
    idempotence: Idempotence = True,
    max_in_flight: MaxInFlight = 5,
    partitions: Partitions = 3,
    kill_at: KillAt = 0.3,
    seed: Seed = None,
    keep_topic: KeepTopic = False,
    fmt: TableOrJson = Format.table,
    client: Client = DEFAULT_CLIENT,
    state_dir: StateDir = None,
    bootstrap_servers: Bootstrap = None,
    config: ConfigFile = None,
    x: XOption = None,
) -> None:
    """Kill the node leading most partitions mid-run, then judge what the producer lost.

    The node is killed with -9 while a run is produced, then restarted.

    Once every replica is back, the run is judged against the producer's acknowledgements.

    Needs a 3-node local cluster: ridectl broker up --nodes 3.

    --max-in-flight stands for max.in.flight.requests.per.connection."""
    import json

    from rich.console import Console

    from ridectl.broker.local import LocalCluster
    from ridectl.errors import UsageError
    from ridectl.output import report as render
    from ridectl.scenarios.failover import FailoverOptions, run_failover

    if not 0.0 < kill_at < 1.0:
        raise UsageError(f"--kill-at must be between 0 and 1, not {kill_at}")
    settings = settings_from(bootstrap_servers, config, x, clients=(client,))
    err = console.err()
    result = run_failover(
        FailoverOptions(
            cluster=LocalCluster(state_dir),
            settings=settings,
            rides=rides,
            acks=acks.value,
            idempotence=idempotence,
            max_in_flight=max_in_flight,
            partitions=partitions,
            kill_at=kill_at,
            seed=seed,
            keep_topic=keep_topic,
            use_cluster_address=bootstrap_servers is None,
            client=client,
            step=lambda line: err.print(line, markup=False, highlight=False),
        )
    )

    def table(out: Console) -> None:
        from ridectl.output.failover import render_failover

        render_failover(out, result)

    def document() -> str:
        report = json.loads(render.render_json(result.report))
        return json.dumps({"figures": result.figures(), "report": report}, indent=2)

    emit(fmt, Views(table=table, json=document))


def register(app: typer.Typer) -> None:
    """Attach ``failover`` to the root app."""
    app.command()(failover)
