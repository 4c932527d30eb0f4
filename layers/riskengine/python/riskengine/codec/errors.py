"""Codec failures, one class per failure mode.

Every error carries a short machine-friendly ``reason`` (used as a metric dimension and as the
DLQ header, so it must stay stable) and a human ``detail``. Callers that only care "is this
message poison?" catch :class:`CodecError`; callers that treat an unreachable registry as
retryable (not poison) catch :class:`RegistryUnavailable` first.
"""

from __future__ import annotations

from typing import ClassVar


class CodecError(Exception):
    """Base class: the value could not be encoded or decoded."""

    default_reason: ClassVar[str] = "codec_error"

    def __init__(self, detail: str, *, reason: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.reason: str = reason or self.default_reason

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


class UnknownSchemaId(CodecError):
    """The frame names a schema id the registry does not know."""

    default_reason = "unknown_schema_id"


class UnknownSubject(CodecError):
    """No schema is defined for the subject (a configuration error, not bad data)."""

    default_reason = "unknown_subject"


class MalformedFrame(CodecError):
    """The value is not a Confluent frame: empty, too short or wrong magic byte.

    The ``reason`` says which: ``empty_value``, ``truncated`` or ``bad_magic_byte``.
    """

    default_reason = "malformed_frame"


class AvroDecodeError(CodecError):
    """The frame header is valid but the Avro body does not match the writer schema.

    ``reason`` is ``truncated`` when the body ends before the record does, else ``avro_decode_error``.
    """

    default_reason = "avro_decode_error"


class AvroEncodeError(CodecError):
    """The record does not conform to the subject's schema."""

    default_reason = "avro_encode_error"


class JsonDecodeError(CodecError):
    """The value looked like JSON (starts with ``{``) but is not a valid JSON object."""

    default_reason = "json_decode_error"


class RegistryUnavailable(CodecError):
    """The schema registry could not be reached or answered with an error.

    Unlike the other subclasses this is usually transient: retry rather than dead-letter.
    """

    default_reason = "registry_unavailable"
