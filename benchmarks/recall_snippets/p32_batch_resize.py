import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .imaging import resize


def main():
    for folder in sys.argv[1:]:
        images = sorted(Path(folder).glob("*.jpg"))
        with ThreadPoolExecutor(max_workers=8) as pool:
            for out in pool.map(resize, images):
                print(out)


if __name__ == "__main__":
    main()
