import concurrent.futures
import logging

log = logging.getLogger(__name__)


def warm(cache, key):
    cache.get_or_compute(key)


def warm_all(cache, keys):
    log.info("warming %d keys", len(keys))
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        pool.map(lambda k: warm(cache, k), keys)
    log.info("warmup finished")
