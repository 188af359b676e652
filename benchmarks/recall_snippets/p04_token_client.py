import httpx


class TokenProvider:
    def __init__(self, issuer: str, client_id: str, secret: str):
        self._issuer = issuer.rstrip("/")
        self._auth = (client_id, secret)
        self._token = None

    async def token(self) -> str:
        if self._token is None:
            with httpx.Client(base_url=self._issuer) as http:
                resp = http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=self._auth)
                resp.raise_for_status()
                self._token = resp.json()["access_token"]
        return self._token
