"""Which rides look clean, found with array operations (numpy) over typed columns.

A clean-looking ride is the checker's (``ridectl.judge.checker``): in processing order its
events read ``1 2 3 4 5``, five events, all on one partition. ``ridectl.judge.columnar``
sends every other ride to the checker.

The test is made on each part of a file by its reader thread (numpy does most of it without
the interpreter lock), and the parts are then joined: a ride looks clean in the whole file
when it looks clean in one part and is no ride of any other part. A ride's events keep their
relative processing order in any subset of the file, so the test made in one part holds for
the whole.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ridectl.judge.lifecycle import LIFECYCLE_LENGTH

_Ints = npt.NDArray[np.int64]
_Flags = npt.NDArray[np.bool_]


def clean_rides(
    number: npt.NDArray[np.int32],
    seqs: npt.NDArray[np.int8],
    partitions: _Ints,
    positions: _Ints,
    rides: int,
) -> _Flags:
    """Per ride number below ``rides``: does it look clean.

    ``number``, ``seqs``, ``partitions`` and ``positions`` are one entry per event, in file
    order. In processing order (by position, ties in file order), ``ranks[r, s - 1]`` is the
    rank of an event of ride ``r`` with seq ``s``. A ride of exactly five events with every
    seq 1..5 among them holds each seq once; it is clean when their ranks rise with the seq
    and their partitions agree."""
    events = len(number)
    counts = np.bincount(number, minlength=rides)
    if np.any(positions[1:] < positions[:-1]):
        order = np.argsort(positions, kind="stable")
        number, seqs, partitions = number[order], seqs[order], partitions[order]
    width = LIFECYCLE_LENGTH + 1
    # one row per ride, one column per seq: the rank of (an) event of that ride and seq
    cell = number.astype(np.intp) * width
    cell += seqs
    # (int32 ranks while they fit: half the memory of the table)
    first: npt.NDArray[np.signedinteger[npt.NBitBase]] = np.full(
        rides * width, -1, dtype=np.int64 if events >= 2**31 else np.int32
    )
    first[cell] = np.arange(events, dtype=first.dtype)
    del cell
    ranks = first.reshape(rides, width)[:, 1:]
    clean: _Flags = counts == LIFECYCLE_LENGTH
    clean &= (ranks >= 0).all(axis=1)
    clean &= (ranks[:, 1:] > ranks[:, :-1]).all(axis=1)
    # the partitions of the candidates' events, seq by seq
    candidates = np.flatnonzero(clean)
    places = partitions[ranks[candidates]]
    clean[candidates] = (places == places[:, :1]).all(axis=1)
    return clean


def partition_counts(partitions: _Ints) -> dict[int, int]:
    """Events per partition, in partition order."""
    if not len(partitions):
        return {}
    if int(partitions.max()) < _COUNTED_PARTITIONS:
        counts = np.bincount(partitions)
        kinds = np.flatnonzero(counts)
        counts = counts[kinds]
    else:
        kinds, counts = np.unique(partitions, return_counts=True)
    return dict(zip(kinds.tolist(), counts.tolist(), strict=True))


#: Partitions below this are counted with a table (``bincount``), larger ones by sorting.
_COUNTED_PARTITIONS = 1 << 16
