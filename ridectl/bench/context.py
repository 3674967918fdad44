"""What every section of the bench works with: the options, the broker it measures on, the
Java it found, and the topics it made. The runner fills it in and hands it to the sections,
so the sections never import the runner (which imports them)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ridectl.bench.plan import PARTITIONS, Section, Size
from ridectl.clients.base import ClientName
from ridectl.clients.settings import ClientSettings


@dataclass
class BenchOptions:
    size: Size
    #: runs per measurement (the checker, the first lesson, cold starts)
    repeat: int
    #: repetitions of each pair of ridectl and a bare client (producer, consume-and-check)
    pair_repeat: int
    bootstrap: str | None = None
    progress: Callable[[str], None] = field(default=lambda _msg: None)
    #: the clients whose producer and consumer are measured, each beside its bare loop
    clients: tuple[ClientName, ...] = tuple(ClientName)
    #: the parts measured (the others are reported "not measured")
    sections: tuple[Section, ...] = tuple(Section)


class BenchContext:
    """The state one benchmark run shares between its sections."""

    def __init__(self, opts: BenchOptions) -> None:
        self.opts = opts
        self.size = opts.size
        self.say = opts.progress
        self.topics: list[str] = []
        self.java: str | None = None
        self.tools: Path | None = None
        self.tools_note = ""
        self.bootstrap = ""
        self.tmp = Path()

    def settings(self, values: dict[str, str] | None = None) -> ClientSettings:
        from ridectl.clients.settings import build_settings

        return build_settings(self.bootstrap, None, [], values or {})

    def new_topic(self, kind: str) -> str:
        """A fresh topic of PARTITIONS partitions, deleted at the end (or with the broker)."""
        from ridectl.clients.admin import ensure_topic

        name = f"bench-{kind}-{uuid.uuid4().hex[:8]}"
        ensure_topic(self.settings(), name, PARTITIONS)
        self.topics.append(name)
        return name

    def delete_topics(self) -> None:
        if not self.topics or not self.opts.bootstrap:
            return  # a broker of our own is wiped as a whole
        from ridectl.clients.admin import delete

        with contextlib.suppress(Exception):
            for name in self.topics:
                delete(self.settings(), name)
