import json

import requests
from fastapi import APIRouter

router = APIRouter()
SLACK_URL = "https://hooks.slack.example/services/T000/B000"


@router.post("/deploys/{deploy_id}/notify")
async def notify_deploy(deploy_id: str, status: str = "ok"):
    body = {"text": f"deploy {deploy_id} finished: {status}"}
    resp = requests.post(
        SLACK_URL,
        data=json.dumps(body),
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    return {"delivered": resp.ok}
