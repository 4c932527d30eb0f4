"""Errors raised by the embedded local services."""


class ServiceUnavailable(RuntimeError):
    """A local service binary is missing or the service did not come up.

    A dedicated type lets the CLI and the test fixtures report one actionable message
    (what to install, what the service logged) instead of a bare OSError or timeout.
    """
