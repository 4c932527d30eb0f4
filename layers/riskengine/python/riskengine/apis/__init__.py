"""What the API Gateway functions share: JSON responses, their OpenAPI declarations, the error answers.

``functions/ingest_trade`` and ``functions/report_api`` keep only their routes, their own errors
and the wording of the shared ones (:class:`ErrorWording`).
"""

from riskengine.apis.errors import ErrorWording, NotJsonBody, install_error_handlers, sent_as_json
from riskengine.apis.responses import JSON, json_content, json_error, json_response

__all__ = [
    "JSON",
    "ErrorWording",
    "NotJsonBody",
    "install_error_handlers",
    "json_content",
    "json_error",
    "json_response",
    "sent_as_json",
]
