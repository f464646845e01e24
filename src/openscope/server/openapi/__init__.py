"""The API's documentation: the OpenAPI 3.1 document of every route (`/openapi.json`),
made from the wire models that check the bodies, and a page that renders it (`/docs`)."""

from openscope.server.openapi.docs_page import DOCS_PATH, docs_router
from openscope.server.openapi.document import openapi_document

OPENAPI_PATH = "/openapi.json"

__all__ = ["DOCS_PATH", "OPENAPI_PATH", "docs_router", "openapi_document"]
