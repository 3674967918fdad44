"""One part of a history file as its reader thread leaves it (``ridectl.judge.arrow_read``).

The thread fills a part's columns batch by batch (``Batches``), numbers the part's rides and
makes the clean-looking test within it (``ridectl.judge.clean``); once every part is read,
each thread marks which of its rides are also rides of another part (``compare_parts``), so
that the parts can be judged together without numbering the rides of the whole file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pyarrow as pa

_Ints = npt.NDArray[np.int64]
_T = TypeVar("_T", bound=np.generic)


@dataclass(slots=True)
class Part:
    """The events of the chosen run in one part of the file, in file order, as its reader
    thread leaves them: ride ids numbered, and the clean-looking test made within the part
    (``ridectl.judge.clean``)."""

    #: This part's ride ids, each once; an event's ride is ``names[number]``.
    names: pa.StringArray
    number: npt.NDArray[np.int32]
    positions: _Ints
    seqs: npt.NDArray[np.int8]
    partitions: _Ints
    offsets: _Ints
    #: Per name: does the ride look clean within this part.
    clean: npt.NDArray[np.bool_]
    per_partition: dict[int, int]
    #: Per name: is it also a ride of another part, of an earlier part (None: not compared).
    elsewhere: npt.NDArray[np.bool_] | None = None
    earlier: npt.NDArray[np.bool_] | None = None


#: The shortest line the reader takes (every field is needed), so a part of ``n`` bytes holds
#: at most ``n // _SHORTEST_LINE`` events.
_SHORTEST_LINE = len('{"pos":0,"ride_id":"","seq":1,"partition":0,"offset":0,"run_id":""}\n')


class Filled(Generic[_T]):
    """A column filled batch by batch.

    Its array is made once, for the most events the part can hold: the pages never written
    cost no memory, and each batch is copied in once, where joining a list of batches at the
    end held every value twice."""

    def __init__(self, dtype: type[_T], rows: int) -> None:
        self._array: npt.NDArray[_T] = np.empty(rows, dtype=dtype)
        self._size = 0

    def add(self, values: npt.NDArray[np.generic]) -> None:
        end = self._size + len(values)
        if end > len(self._array):  # (only when lines hold several objects each)
            grown = np.empty(max(end, 2 * len(self._array)), dtype=self._array.dtype)
            grown[: self._size] = self._array[: self._size]
            self._array = grown
        self._array[self._size : end] = values
        self._size = end

    def values(self) -> npt.NDArray[_T]:
        return self._array[: self._size]


class Batches:
    """One part's events while its reader thread parses it, and the part they make."""

    @classmethod
    def for_bytes(cls, size: int) -> Batches:
        """Room for the events of a part of ``size`` bytes."""
        return cls(rows=size // _SHORTEST_LINE + 1)

    def __init__(self, rows: int) -> None:
        self.ride_ids: list[pa.StringArray] = []
        self.positions = Filled(np.int64, rows)
        self.seqs = Filled(np.int8, rows)
        self.partitions = Filled(np.int64, rows)
        self.offsets = Filled(np.int64, rows)

    def part(self) -> Part | None:
        """The part (None when it kept no event), the clean-looking test made."""
        import pyarrow as pa
        from pyarrow._compute import call_function

        from ridectl.judge.clean import clean_rides, partition_counts

        if not self.ride_ids:
            return None
        # one dictionary for the part, in one pass over its ride ids
        rides = call_function("dictionary_encode", [pa.chunked_array(self.ride_ids)])
        self.ride_ids.clear()
        names = rides.chunk(0).dictionary
        number = np.concatenate([c.indices.to_numpy() for c in rides.chunks])
        del rides
        seqs, partitions, positions = (
            self.seqs.values(),
            self.partitions.values(),
            self.positions.values(),
        )
        return Part(
            names,
            number,
            positions,
            seqs,
            partitions,
            self.offsets.values(),
            clean_rides(number, seqs, partitions, positions, len(names)),
            partition_counts(partitions),
        )


def compare_parts(parts: list[Part], k: int) -> None:
    """Mark which of part ``k``'s rides are also rides of another part (of an earlier one)."""
    from pyarrow._compute import SetLookupOptions, call_function

    mine = parts[k]
    elsewhere = np.zeros(len(mine.names), dtype=np.bool_)
    earlier = np.zeros(len(mine.names), dtype=np.bool_)
    for j, other in enumerate(parts):
        if j != k:
            found = call_function("is_in", [mine.names], SetLookupOptions(other.names))
            elsewhere |= found.to_numpy(zero_copy_only=False)
            if j < k:
                earlier |= found.to_numpy(zero_copy_only=False)
    mine.elsewhere, mine.earlier = elsewhere, earlier
