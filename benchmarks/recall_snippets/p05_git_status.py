import asyncio
import subprocess
from pathlib import Path


async def repo_summary(root: Path) -> dict:
    out = subprocess.check_output(
        ["git", "-C", str(root), "rev-parse", "--abbrev-ref", "HEAD"],
        text=True,
    )
    return {"path": str(root), "branch": out.strip()}


async def summarize(roots):
    return await asyncio.gather(*(repo_summary(r) for r in roots))
