import hashlib
import sys
from multiprocessing import Pool


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return path, h.hexdigest()


def main(paths):
    with Pool() as pool:
        for path, digest in pool.imap_unordered(sha256_file, paths):
            print(f"{digest}  {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
