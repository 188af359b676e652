import threading
from concurrent.futures import ThreadPoolExecutor, as_completed

processed = 0
_processed_lock = threading.Lock()


def handle(record):
    global processed
    result = record.transform()
    with _processed_lock:
        processed += 1
    return result


def process_all(records):
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(handle, r) for r in records]
        return [f.result() for f in as_completed(futures)]
