"""Keyed placement by a named hash (``ridectl.clients.partitioners``) for a client that lacks it.

ridectl can make a producer place keyed records as another client would (the mixed-clients
lesson). Where the client library has that partitioner built in, its driver configures it;
otherwise the driver asks :class:`KeyPlacement` for an explicit partition per record.
"""

from __future__ import annotations

from collections.abc import Callable

from ridectl.clients.partitioners import lookup


class KeyPlacement:
    """Partitions for keyed records by hash ``name``, over the topic's partition count (read
    once, at the first keyed record, from ``count``). Null keys, and keys the hash leaves to
    chance, get None: the client's own partitioner decides."""

    def __init__(self, name: str, count: Callable[[], int]) -> None:
        self._fn = lookup(name)
        self._count_fn = count
        self._count = 0

    def partition(self, key: bytes | None) -> int | None:
        if key is None:
            return None
        if self._count <= 0:
            self._count = self._count_fn()
            if self._count <= 0:
                return None
        return self._fn(key, self._count)
