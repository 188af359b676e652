import requests

GEO_API = "https://geo.example.org/v1/ip/"


def lookup_country(ip):
    r = requests.get(GEO_API + ip, timeout=3)
    r.raise_for_status()
    return r.json().get("country", "??")


async def geo_middleware(request, call_next):
    request.state.country = lookup_country(request.client.host)
    response = await call_next(request)
    response.headers["X-Country"] = request.state.country
    return response
