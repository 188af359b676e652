# Labelled corpus: see asyncio_blocking.py for the markers.
# Locks made by async frameworks are not threading locks, whatever their names.
from tornado import locks


def lock_by_name():
    lock = locks.Lock()
    lock.acquire()  # ok: GW201
    lock.release()
