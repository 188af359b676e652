import os
import sys
import threading

from .metrics import push_metrics_forever


def start_agent(config):
    reporter = threading.Thread(target=push_metrics_forever, args=(config,), daemon=True)
    reporter.start()
    if config.get("detach"):
        pid = os.fork()
        if pid > 0:
            sys.exit(0)
        os.setsid()
    return reporter
