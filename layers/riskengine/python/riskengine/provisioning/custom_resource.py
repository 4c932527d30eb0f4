"""What every provisioning custom resource (CDK Provider framework ``on_event``) does with the request type."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def provisions(event: Mapping[str, Any]) -> bool:
    """True for Create and Update (provision), False for Delete (keep everything: it is the system's data).

    Anything else is a malformed event, raised so CloudFormation reports it.
    """
    request_type = event.get("RequestType")
    if request_type == "Delete":
        return False
    if request_type not in ("Create", "Update"):
        raise ValueError(f"RequestType must be Create, Update or Delete, got {request_type!r}")
    return True
