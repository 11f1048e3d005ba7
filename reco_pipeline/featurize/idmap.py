from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np


class UnknownIdError(KeyError):
    """An external id that the map does not know, raised only in strict lookups."""


@dataclass(frozen=True, slots=True)
class IdMap:
    """External ids (strings) <-> dense internal indices ``0..n-1``.

    Built once from sorted unique ids, so the same ids always give the same indices (and the same
    model, given a seed). Unknown ids map to ``-1`` in non-strict lookups.

    Examples
    --------
    >>> m = IdMap.from_values(["b", "a", "b"])
    >>> m.external_ids.tolist(), m.to_internal(["a", "zz"], strict=False).tolist()
    (['a', 'b'], [0, -1])
    """

    external_ids: np.ndarray
    _index: dict[str, int] = field(repr=False, compare=False)

    @classmethod
    def from_values(cls, values: Iterable) -> "IdMap":
        ids = np.array(sorted({str(v) for v in values}), dtype=object)
        return cls(ids, {v: i for i, v in enumerate(ids)})

    @property
    def size(self) -> int:
        return len(self.external_ids)

    def __len__(self) -> int:
        return self.size

    def __contains__(self, external_id: object) -> bool:
        return str(external_id) in self._index

    def index_of(self, external_id: object) -> int:
        """Internal index of one id, or -1: the allocation-free lookup the real-time path uses."""
        return self._index.get(str(external_id), -1)

    def to_internal(self, ids: Iterable, strict: bool = True) -> np.ndarray:
        out = np.fromiter((self._index.get(str(v), -1) for v in ids), dtype=np.int64)
        if strict and (out < 0).any():
            unknown = [v for v, i in zip(ids, out) if i < 0][:5]
            raise UnknownIdError(f"unknown id(s): {unknown}")
        return out

    def to_external(self, idx: np.ndarray) -> np.ndarray:
        return self.external_ids[np.asarray(idx, dtype=np.int64)]
