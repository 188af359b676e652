"""One parallel-map API from a plain loop to a dask cluster: ``pmap``, ``amap``, ``Pool``.

Example:
    >>> import gilwise
    >>> list(gilwise.pmap(str, range(3), backend="thread"))
    ['0', '1', '2']
"""

from __future__ import annotations

from .._errors import ItemTimeout, PoisonItem, WorkersFailed
from ._api import AsyncMapIterator, MapIterator, Pool, amap, pmap
from ._remote import RemoteError, RemoteTraceback
from ._types import MapStatistics

__all__ = [
    "AsyncMapIterator",
    "ItemTimeout",
    "MapIterator",
    "MapStatistics",
    "PoisonItem",
    "Pool",
    "RemoteError",
    "RemoteTraceback",
    "WorkersFailed",
    "amap",
    "pmap",
]
