import threading
import urllib.request

pages_fetched = 0
bytes_fetched = 0


def crawl(urls):
    global pages_fetched, bytes_fetched
    for url in urls:
        body = urllib.request.urlopen(url, timeout=10).read()
        pages_fetched += 1
        bytes_fetched += len(body)


def run(url_batches):
    threads = [threading.Thread(target=crawl, args=(batch,)) for batch in url_batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return pages_fetched, bytes_fetched
