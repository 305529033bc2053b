"""The API's interactive documentation, served with no CDN.

FastAPI's built-in ``/docs`` and ``/redoc`` pages load Swagger UI and ReDoc from a CDN, so they
are blank on an intranet (most government deployments) and need inline script, which the pages'
Content-Security-Policy forbids. This page loads the vendored Swagger UI bundle
(``static/vendor/swagger-ui-<version>/``, Apache-2.0, licence and checksums beside it) and starts
it from ``static/js/docs.js``, under the same CSP as every other page.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from app.web.render import secure_headers

router = APIRouter(include_in_schema=False)

SWAGGER_UI = "/static/vendor/swagger-ui-5.35.0"

PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SkillTrace API</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{SWAGGER_UI}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="/openapi.json"></div>
<script src="{SWAGGER_UI}/swagger-ui-bundle.js"></script>
<script src="/static/js/docs.js"></script>
</body>
</html>
"""


@router.get("/docs", response_class=HTMLResponse)
def docs() -> HTMLResponse:
    """Swagger UI for ``/openapi.json``, from vendored files."""
    response = HTMLResponse(PAGE)
    secure_headers(response)
    return response
