"""Content caches at a site: least recently used, and a fixed set (e.g. from a plan)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from edgescale.policies._checks import ParamError, integer
from edgescale.policies.base import CachePolicy

__all__ = ["LRUCache", "StaticCache"]


class LRUCache(CachePolicy):
    """Least recently used: on a miss the item is cached, evicting the one unused for longest.

    Every operation is O(1): a dict maps items to slots of a doubly linked list kept in two Python
    lists (most recent at the head).

    Parameters
    ----------
    capacity_items : int
        Items the cache holds (>= 0; 0 caches nothing). In a scenario the engine supplies it from each
        site's ``cache_gb`` and the catalogue's ``item_size_mb``.

    Examples
    --------
    >>> c = LRUCache(capacity_items=2)
    >>> [c.request(x) for x in "abacb"]
    [False, False, True, False, False]
    >>> sorted(c.items())
    ['b', 'c']
    """

    ENGINE_PARAMS = frozenset({"capacity_items"})

    def __init__(self, *, capacity_items: int) -> None:
        self.capacity_items = integer("capacity_items", capacity_items, lo=0)
        self._slot: dict[Hashable, int] = {}
        self._key: list[Hashable] = []
        # _prev/_next of slot k; index -1 means none. _head is the most recent, _tail the least.
        self._prev: list[int] = []
        self._next: list[int] = []
        self._head = -1
        self._tail = -1

    def _unlink(self, k: int) -> None:
        p, n = self._prev[k], self._next[k]
        if p >= 0:
            self._next[p] = n
        else:
            self._head = n
        if n >= 0:
            self._prev[n] = p
        else:
            self._tail = p

    def _push_front(self, k: int) -> None:
        self._prev[k] = -1
        self._next[k] = self._head
        if self._head >= 0:
            self._prev[self._head] = k
        self._head = k
        if self._tail < 0:
            self._tail = k

    def _lookup(self, item: Hashable) -> bool:
        k = self._slot.get(item)
        if k is None:
            return False
        if k != self._head:
            self._unlink(k)
            self._push_front(k)
        return True

    def _admit(self, item: Hashable) -> None:
        if self.capacity_items == 0 or self._lookup(item):
            return
        if len(self._slot) < self.capacity_items:
            k = len(self._key)
            self._key.append(item)
            self._prev.append(-1)
            self._next.append(-1)
        else:  # reuse the least recently used slot
            k = self._tail
            self._unlink(k)
            del self._slot[self._key[k]]
            self._key[k] = item
        self._slot[item] = k
        self._push_front(k)

    def __contains__(self, item: object) -> bool:
        return item in self._slot

    def __len__(self) -> int:
        return len(self._slot)

    def items(self) -> list[Hashable]:
        """Cached items, most recently used first."""
        out, k = [], self._head
        while k >= 0:
            out.append(self._key[k])
            k = self._next[k]
        return out


class StaticCache(CachePolicy):
    """A fixed set of items (for example the plan's caching decision); :meth:`admit` changes nothing.

    Parameters
    ----------
    items : iterable of hashable
        The cached items; an engine fills it from the plan's ``caching`` section.

    Examples
    --------
    >>> c = StaticCache(items=[1, 2, 3])
    >>> [c.request(x) for x in (1, 4, 4)], len(c)
    ([True, False, False], 3)
    """

    ENGINE_PARAMS = frozenset({"items"})

    def __init__(self, *, items: Iterable[Hashable]) -> None:
        if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
            raise ParamError("items", "must be a list of items", items)
        self.items = frozenset(items)

    def __repr__(self) -> str:
        return f"StaticCache(items=<{len(self.items)} items>)"

    def _lookup(self, item: Hashable) -> bool:
        return item in self.items

    def _admit(self, item: Hashable) -> None:
        return None

    def __contains__(self, item: object) -> bool:
        return item in self.items

    def __len__(self) -> int:
        return len(self.items)
