from concurrent.futures import ThreadPoolExecutor

from PIL import Image

_pool = ThreadPoolExecutor(max_workers=4)


def _make_thumb(src, dst, size=(256, 256)):
    with Image.open(src) as im:
        im.thumbnail(size)
        im.save(dst)
    return dst


async def handle_upload(src_path, dst_path):
    fut = _pool.submit(_make_thumb, src_path, dst_path)
    thumb = fut.result()
    return {"thumbnail": thumb}
