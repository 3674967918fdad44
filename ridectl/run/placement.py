"""How a run placed its records on partitions, recorded with the run so a later command can say
why each stage of a ride landed where it did (the keying cause needs no request log).

A keyed record goes where its client's hash of the key sends it (``hash % partitions``); a
record without a key goes where the client's keyless strategy puts it, which no one can
predict afterwards. :class:`Placement` holds what decides both, and answers per stage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from ridectl.clients.partitioners import PARTITIONERS, KeylessStrategy, PartitionerName
from ridectl.clients.registry import ClientName, entry

__all__ = ["KeyBy", "KeylessStrategy", "Placement", "client_hash"]


class KeyBy(StrEnum):
    """What a keyed run uses as the key."""

    RIDE = "ride"
    ZONE = "zone"


def client_hash(
    client: ClientName, chosen: str | None, effective: Mapping[str, str]
) -> PartitionerName | None:
    """The hash a client applies to keys: the one ridectl was told to imitate, else the
    client's own (:attr:`~ridectl.clients.registry.ClientEntry.key_hash`, which may depend on
    the settings it ran with); None when it has none."""
    if chosen is not None:
        return PartitionerName(chosen)
    return entry(client).key_hash(effective)


@dataclass(frozen=True)
class Placement:
    """What decided the partition of each record of one run."""

    client: ClientName
    keyed: bool
    key_by: KeyBy
    #: the hash placing keyed records (None: the client has no stable hash for them)
    hash: PartitionerName | None
    partitions: int
    #: a second producer (another service) sent these stages, placing keys with its own hash
    second_hash: PartitionerName | None = None
    second_seqs: frozenset[int] = frozenset()
    #: (partitions before, after) when the topic grew mid-run
    grown: tuple[int, int] | None = None

    @property
    def keyless(self) -> KeylessStrategy:
        return entry(self.client).keyless

    def hash_of(self, seq: int) -> PartitionerName | None:
        """The hash that placed stage ``seq`` (keyed runs)."""
        return self.second_hash if seq in self.second_seqs else self.hash

    def expected(self, key: bytes, seq: int, partitions: int) -> int | None:
        """Where stage ``seq`` with ``key`` goes among ``partitions`` (None: not predictable)."""
        name = self.hash_of(seq)
        if not self.keyed or name is None:
            return None
        return PARTITIONERS[name](key, partitions)

    def to_dict(self) -> dict[str, object]:
        return {
            "client": str(self.client),
            "keyed": self.keyed,
            "key_by": str(self.key_by),
            "hash": None if self.hash is None else str(self.hash),
            "partitions": self.partitions,
            "second_hash": None if self.second_hash is None else str(self.second_hash),
            "second_seqs": sorted(self.second_seqs),
            "grown": None if self.grown is None else list(self.grown),
            "keyless": str(self.keyless),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Placement:
        """The inverse of ``to_dict``; ValueError/KeyError/TypeError on anything else."""
        hash_, second = data.get("hash"), data.get("second_hash")
        grown, seqs = data.get("grown"), data.get("second_seqs", [])
        if not isinstance(seqs, list) or not (grown is None or isinstance(grown, list)):
            raise ValueError("second_seqs/grown must be lists")
        return cls(
            client=ClientName(str(data["client"])),
            keyed=bool(data["keyed"]),
            key_by=KeyBy(str(data["key_by"])),
            hash=None if hash_ is None else PartitionerName(str(hash_)),
            partitions=int(str(data["partitions"])),
            second_hash=None if second is None else PartitionerName(str(second)),
            second_seqs=frozenset(int(str(s)) for s in seqs),
            grown=None if grown is None else (int(str(grown[0])), int(str(grown[1]))),
        )
