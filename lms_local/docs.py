"""``GET /docs``: Swagger UI over the served OpenAPI document, from files shipped in a Python
package (``swagger-ui-bundle-v2``), so the explorer works with no network at all.

The page, its start script and the package's assets are served by the local gateway
itself, like ``/openapi.json``; nothing here is deployed.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

DOCS_PATH = "/docs"

PAGE = f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>LMS API</title>
  <link rel="stylesheet" href="{DOCS_PATH}/swagger-ui.css">
  <link rel="icon" type="image/png" href="{DOCS_PATH}/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{DOCS_PATH}/swagger-ui-bundle.js"></script>
  <script src="{DOCS_PATH}/lms-docs.js"></script>
</body>
</html>
""".encode()

# validatorUrl null: Swagger UI would otherwise send the document to validator.swagger.io.
START = b"""window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    persistAuthorization: true,
    tryItOutEnabled: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
};
"""

_ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}


class DocsUnavailable(Exception):
    """The Swagger UI package is not installed (it comes with the ``local`` extras)."""


def asset(name: str) -> tuple[bytes, str] | None:
    """The bytes and content type of ``/docs/<name>``; None for anything else."""
    if name == "lms-docs.js":
        return START, "text/javascript; charset=utf-8"
    content_type = _ASSETS.get(name)
    if content_type is None:
        return None
    return (_folder() / name).read_bytes(), content_type


@cache
def _folder() -> Path:
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError as error:
        raise DocsUnavailable("install the local extras: pip install -e '.[local]'") from error
    return Path(str(swagger_ui_path))
