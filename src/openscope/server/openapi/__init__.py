"""The API's documentation: the OpenAPI 3.1 document of every route (`/openapi.json`),
made from the wire models that check the bodies."""

from openscope.server.openapi.document import openapi_document

OPENAPI_PATH = "/openapi.json"

__all__ = ["OPENAPI_PATH", "openapi_document"]
