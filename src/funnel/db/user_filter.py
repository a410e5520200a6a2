"""`UserFilter`: which users one partition holds, as a Bloom filter of 64-bit user hashes.

A filter answers "might this user be here?" with no false negatives and, at its sizing,
~0.8% false positives a layer: the repeat-user probe (`funnel.db.seen_users`) asks
PostgreSQL only about the users a filter might hold, instead of one index lookup per event
and partition.

Blocked: a hash sets three bits of one 64-bit word, so a test reads one word. A layer holds
four hashes a word (16 bits a hash) and is sized to the hashes its owner expects, to the
word: a hash picks its word by multiply-shift (`(low 32 bits x words) >> 32`), not by a mask,
so a layer need not be a power of two, which could nearly double it (an hour of one source
at 12,500 events a second is 45M users: 90 MB to the word, 134 MB rounded up). When a
partition outgrows its layers a layer twice the size is added, so a filter never needs the
hashes again to grow; one that would outgrow the room its owner gives it lets its layers go
and is `full`: it no longer answers. Hashes come and go as numpy arrays of int64
(`hashes_of` reads the log's packed form without a copy).
"""

from collections.abc import Iterable
from typing import Final

import numpy as np
import numpy.typing as npt

Hashes = npt.NDArray[np.int64]

#: The smallest layer, in hashes: 256 KiB of words.
MIN_ITEMS: Final = 1 << 17
_ITEMS_PER_WORD: Final = 4
#: No hashes: what joining none gives.
NO_HASHES: Final[Hashes] = np.empty(0, dtype=np.int64)
_ONE: Final = np.uint64(1)
_SIX_BITS: Final = np.uint64(63)
_LOW_32: Final = np.uint64(2**32 - 1)
_32: Final = np.uint64(32)


def user_hash(user_id: str) -> str:
    """SQL: the 64-bit hash of the user id column `user_id` that the log holds and the
    probe matches."""
    return f"hashtextextended({user_id}, 0)"


def hashes_of(packed: bytes) -> Hashes:
    """The hashes of a log row: big-endian int64s back to back (`int8send`)."""
    return np.frombuffer(packed, dtype=">i8").astype(np.int64)


def _bits(hashes: Hashes) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """Each hash's three bits within a word (from its high bits), and the number that picks
    its word in a layer (its low 32 bits)."""
    unsigned = hashes.view(np.uint64)
    mask = _ONE << (unsigned >> np.uint64(58) & _SIX_BITS)
    mask |= _ONE << (unsigned >> np.uint64(52) & _SIX_BITS)
    mask |= _ONE << (unsigned >> np.uint64(46) & _SIX_BITS)
    return mask, unsigned & _LOW_32


def _words_for(capacity: int) -> int:
    """Words of a layer holding at least `capacity` hashes."""
    return max(1, -(-capacity // _ITEMS_PER_WORD))


class _Layer:
    __slots__ = ("capacity", "items", "size", "words")

    def __init__(self, capacity: int) -> None:
        words = _words_for(capacity)
        self.words = np.zeros(words, dtype=np.uint64)
        self.size = np.uint64(words)
        self.capacity = words * _ITEMS_PER_WORD
        self.items = 0

    def _index(self, where: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
        # Maps 0..2^32 onto 0..words evenly; exact in 64 bits while words < 2^32.
        index: npt.NDArray[np.uint64] = (where * self.size) >> _32
        return index

    def add(self, mask: npt.NDArray[np.uint64], where: npt.NDArray[np.uint64]) -> None:
        np.bitwise_or.at(self.words, self._index(where), mask)
        self.items += len(mask)

    def holds(
        self, mask: npt.NDArray[np.uint64], where: npt.NDArray[np.uint64]
    ) -> npt.NDArray[np.bool_]:
        result: npt.NDArray[np.bool_] = self.words[self._index(where)] & mask == mask
        return result


class UserFilter:
    """The user hashes of one partition and source; `count` is how many were added, which
    the owner compares with the rows stored there to know the filter is complete."""

    __slots__ = ("_next_capacity", "count", "full", "layers")

    def __init__(self, expected: int = MIN_ITEMS) -> None:
        self.layers: list[_Layer] = []
        self.count = 0
        self.full = False
        self._next_capacity = max(MIN_ITEMS, expected)

    @property
    def nbytes(self) -> int:
        return sum(layer.words.nbytes for layer in self.layers)

    def give_up(self) -> None:
        """Stop answering, and let the memory go: as when full."""
        self.full, self.layers = True, []

    def add(self, hashes: Hashes, room: int | None = None) -> None:
        """Add `hashes`; a layer that would take more than `room` bytes makes it `full`."""
        if self.full:
            return
        mask, where = _bits(hashes)
        start = 0
        while start < len(hashes):
            if not self.layers or self.layers[-1].items >= self.layers[-1].capacity:
                needed = 8 * _words_for(self._next_capacity)
                if room is not None and needed > room:
                    self.give_up()
                    return
                room = None if room is None else room - needed
                self.layers.append(_Layer(self._next_capacity))
                self._next_capacity = 2 * self.layers[-1].capacity
            layer = self.layers[-1]
            end = start + layer.capacity - layer.items
            layer.add(mask[start:end], where[start:end])
            start = end
        self.count += len(hashes)


def might_hold(filters: Iterable[UserFilter], hashes: Hashes) -> Hashes:
    """The hashes some filter might hold: every one a filter holds, and ~0.8% others for
    each layer asked."""
    mask, where = _bits(hashes)
    found = np.zeros(len(hashes), dtype=np.bool_)
    for user_filter in filters:
        for layer in user_filter.layers:
            found |= layer.holds(mask, where)
    return hashes[found]
