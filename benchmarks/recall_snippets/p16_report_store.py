import json
from pathlib import Path

from .settings import REPORT_ROOT


async def load_report(name: str, root=REPORT_ROOT) -> dict:
    p: Path = root / f"{name}.json"
    if not name.isidentifier():
        raise ValueError(name)
    return json.loads(p.read_text())
