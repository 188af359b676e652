# Labelled corpus: see asyncio_blocking.py for the markers.
import functools
import multiprocessing
import multiprocessing as mp
import os
import threading
from concurrent.futures import ProcessPoolExecutor

pool = multiprocessing.Pool()  # expect: GW301
executor = ProcessPoolExecutor()  # expect: GW301


def square(x):
    return x * x


def lazy_pool():
    return ProcessPoolExecutor()  # ok: GW301


def send_lambdas(values):
    with ProcessPoolExecutor() as ex:
        ex.map(lambda v: v + 1, values)  # expect: GW302  # ok: GW402  (the with waits)
        list(ex.map(square, values))  # ok: GW302

    def local(v):
        return v

    with ProcessPoolExecutor() as ex:
        ex.submit(local, 1).result()  # expect: GW302
        ex.submit(functools.partial(square, 2)).result()  # ok: GW302
    ctx = mp.get_context("spawn")
    with ctx.Pool() as p:
        p.map(lambda v: v, values)  # expect: GW302
    mp.Process(target=lambda: None).start()  # expect: GW302


def produce(q):
    q.put(b"x" * 1_000_000)


def join_too_early():
    q = multiprocessing.Queue()
    proc = multiprocessing.Process(target=produce, args=(q,))
    proc.start()
    proc.join()  # expect: GW304
    return q.get()


def join_after_reading():
    q = multiprocessing.Queue()
    proc = multiprocessing.Process(target=produce, args=(q,))
    proc.start()
    result = q.get()
    proc.join()  # ok: GW304
    return result


def forks():
    threading.Thread(target=square, args=(1,), daemon=True).start()
    pid = os.fork()  # expect: GW303
    multiprocessing.set_start_method("fork")  # expect: GW303
    multiprocessing.set_start_method("forkserver")  # ok: GW303
    return pid


if __name__ == "__main__":

    def main_only(v):
        return v

    with ProcessPoolExecutor() as guarded:  # ok: GW301
        guarded.submit(main_only, 1).result()  # expect: GW302


class ForkingMixIn:
    def process_request(self):
        return os.fork()  # ok: GW303  (threads start only in forks(), another unit)
