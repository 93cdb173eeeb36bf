"""Every /api/v1 response a test produces is checked against the OpenAPI document (openapi-core):
its status must be documented for the operation and its body must match that response's schema.
Requests to a path or method the document does not have (an unknown import kind, a GET on a POST
route) are counted as not applicable, not checked."""
from __future__ import annotations

import json
from collections import Counter

from flask.testing import FlaskClient
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIResponse
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.testing import MockRequest

from app.api.openapi import openapi_document

TALLY: Counter[str] = Counter()  # "checked", "not documented"; printed at the end of the run
_SPECS: dict[str, OpenAPI] = {}


def current_spec() -> OpenAPI:
    """The document as the app serves it now (a test may register an importer), validated once."""
    document = openapi_document()
    key = json.dumps(document, sort_keys=True)
    if key not in _SPECS:
        _SPECS[key] = OpenAPI.from_dict(document)  # raises on a document that is not valid OpenAPI 3
    return _SPECS[key]


def check_response(response) -> None:
    # Only the method and path pick the operation; the request body was consumed by the app.
    request = MockRequest("http://localhost", response.request.method, response.request.path)
    try:
        current_spec().validate_response(request, WerkzeugOpenAPIResponse(response))
    except (PathNotFound, OperationNotFound):
        TALLY["not documented"] += 1
        return
    except Exception as error:  # a readable failure: which request, which status, which body
        raise AssertionError(f"{response.request.method} {response.request.path} → {response.status_code} "
                             f"does not match openapi.json: {error!r} {getattr(error, '__cause__', '')}; "
                             f"body {response.get_data(as_text=True)[:300]}") from error
    TALLY["checked"] += 1


class ContractCheckingClient(FlaskClient):
    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        if response.request.path.startswith("/api/v1/"):
            check_response(response)
        return response
