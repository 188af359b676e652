from concurrent.futures import ProcessPoolExecutor

import numpy as np


def extract_features(frames, scale=1.0, workers=8):
    def normalize(frame):
        arr = np.asarray(frame, dtype=np.float32)
        return (arr - arr.mean()) / (arr.std() + 1e-6) * scale

    with ProcessPoolExecutor(max_workers=workers) as ex:
        return list(ex.map(normalize, frames, chunksize=16))
