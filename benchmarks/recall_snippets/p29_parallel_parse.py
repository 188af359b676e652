import multiprocessing as mp

from .parser import parse_file


def _worker(paths, out_q):
    for path in paths:
        out_q.put((path, parse_file(path)))


def parse_all(paths, nproc=4):
    out_q = mp.Queue()
    chunks = [paths[i::nproc] for i in range(nproc)]
    procs = [mp.Process(target=_worker, args=(chunk, out_q)) for chunk in chunks]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    return dict(out_q.get() for _ in paths)
