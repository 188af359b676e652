import hashlib
from multiprocessing import Pool

from flask import Flask, jsonify, request

app = Flask(__name__)
workers = Pool(processes=4)


def digest(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


@app.post("/hash")
def hash_files():
    blobs = [f.read() for f in request.files.getlist("file")]
    return jsonify(workers.map(digest, blobs))
