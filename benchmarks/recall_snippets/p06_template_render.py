import os

from starlette.responses import HTMLResponse

TEMPLATE_DIR = os.path.join(os.path.dirname(__file__), "templates")


async def render_page(request):
    name = request.path_params["page"]
    path = os.path.join(TEMPLATE_DIR, f"{name}.html")
    if not os.path.exists(path):
        return HTMLResponse("not found", status_code=404)
    with open(path, encoding="utf-8") as fh:
        html = fh.read()
    return HTMLResponse(html.replace("{{user}}", request.user.display_name))
