import asyncio
import json
import time
from pathlib import Path


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def _wait_for_device(seconds: float) -> None:
    time.sleep(seconds)


async def load_config(path: Path) -> dict:
    cfg = await asyncio.to_thread(_read_json, path)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, _wait_for_device, cfg.get("warmup", 1.0))
    return cfg
