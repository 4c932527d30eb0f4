"""Confluent-framed Avro codec (plus a JSON escape hatch for hand-fed messages).

Wire format (Confluent): ``0x00 | schema id (4 bytes, big-endian) | Avro binary body``.

Decoding is on the hot path (every consumed trade), so the per-subject state is resolved once and
kept in small objects whose ``__call__`` does only what depends on the value: the frame check, one
dict hit for the (writer, reader) pair of the frame's schema id, and the fastavro read.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Callable, Iterable
from typing import Any, Final

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import to_parsing_canonical_form
from fastavro.types import Schema

from .errors import AvroDecodeError, AvroEncodeError, JsonDecodeError, MalformedFrame
from .registry import SchemaRegistry

MAGIC_BYTE: Final = 0
HEADER_SIZE: Final = 5
_HEADER: Final = struct.Struct(">BI")
_SCHEMA_ID: Final = struct.Struct(">I")
_JSON_START: Final = ord("{")
# Errors fastavro raises for a record that does not fit the schema (wrong type, missing field...).
_ENCODE_ERRORS: Final = (ValueError, TypeError, KeyError, AttributeError, OverflowError)

Record = dict[str, Any]


class _SubjectDecoder:
    """Decoder bound to one subject: the reader schema is the subject's latest."""

    __slots__ = ("_pairs", "_reader", "_registry", "_subject")

    def __init__(self, registry: SchemaRegistry, subject: str) -> None:
        self._registry = registry
        self._subject = subject
        _, self._reader = registry.latest(subject)
        # schema id -> (writer schema, reader schema or None when identical: resolution is skipped).
        self._pairs: dict[int, tuple[Schema, Schema | None]] = {}

    def __call__(self, value: bytes) -> Record:
        if not value or value[0] != MAGIC_BYTE:
            return _decode_non_avro(value)
        if len(value) < HEADER_SIZE:
            raise MalformedFrame(f"{len(value)}-byte value is shorter than the header", reason="truncated")
        schema_id = _SCHEMA_ID.unpack_from(value, 1)[0]
        pair = self._pairs.get(schema_id) or self._resolve(schema_id)
        buf = io.BytesIO(value)
        buf.seek(HEADER_SIZE)
        try:
            record = schemaless_reader(buf, pair[0], pair[1])
        except Exception as exc:  # any failure of a pure read means the bytes do not match the schema
            raise _body_error(self._subject, schema_id, exc) from exc
        if buf.tell() != len(value):
            raise _body_error(self._subject, schema_id, f"{len(value) - buf.tell()} trailing bytes")
        return record

    def _resolve(self, schema_id: int) -> tuple[Schema, Schema | None]:
        """Look the writer schema up (may raise UnknownSchemaId) and cache its pair."""
        writer = self._registry.schema_for_id(schema_id)
        pair = self._pairs[schema_id] = (writer, None if writer == self._reader else self._reader)
        return pair


def _body_error(subject: str, schema_id: int, cause: Exception | str) -> AvroDecodeError:
    """Describe a body that does not fit its writer schema; EOF gets the ``truncated`` reason."""
    reason = "truncated" if isinstance(cause, EOFError) else None
    detail = f"{subject} body written with schema id {schema_id} does not decode: {cause!r}"
    return AvroDecodeError(detail, reason=reason)


def _decode_non_avro(value: bytes) -> Record:
    """Handle values without the magic byte: JSON objects (kcat-friendly) or malformed frames."""
    stripped = value.lstrip() if value else b""
    if not stripped:
        raise MalformedFrame("empty value (tombstone or blank message)", reason="empty_value")
    if stripped[0] != _JSON_START:
        detail = f"first byte is {value[0]:#04x}, expected {MAGIC_BYTE:#04x} (Avro) or '{{' (JSON)"
        raise MalformedFrame(detail, reason="bad_magic_byte")
    try:
        return json.loads(stripped)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise JsonDecodeError(f"value starts with '{{' but is not valid JSON: {exc}") from exc


class HeadEncoded(dict[str, Any]):
    """A record whose first field is already encoded: ``head`` holds that field's Avro body in the
    latest schema of ``head_subject``.

    Encoding it splices those bytes in instead of encoding the field again (an Avro record is the
    concatenation of its fields): a RiskAnalyzedTrade embeds its input trade, whose body the engine
    already has. Everything else sees a plain dict.
    """

    __slots__ = ("head", "head_subject")

    def __init__(self, fields: Record, head: bytes, head_subject: str) -> None:
        super().__init__(fields)
        self.head = head
        self.head_subject = head_subject


class _SubjectEncoder:
    """Encoder bound to one subject: frames with the id of the subject's latest schema."""

    __slots__ = ("_registry", "_schema", "_subject", "_tails", "header")

    def __init__(self, registry: SchemaRegistry, subject: str) -> None:
        self._registry = registry
        self._subject = subject
        schema_id, self._schema = registry.latest(subject)
        self.header = _HEADER.pack(MAGIC_BYTE, schema_id)
        # head subject -> the schema without its first field, or None when the head is not that schema
        self._tails: dict[str, Schema | None] = {}

    def __call__(self, record: Record) -> bytes:
        buf = io.BytesIO()
        buf.write(self.header)
        schema = self._schema
        if isinstance(record, HeadEncoded):
            tail = self._tail(record.head_subject)
            if tail is not None:
                buf.write(record.head)
                schema = tail
        try:
            schemaless_writer(buf, schema, record)
        except _ENCODE_ERRORS as exc:
            raise AvroEncodeError(f"record does not fit the {self._subject} schema: {exc}") from exc
        return buf.getvalue()

    def _tail(self, head_subject: str) -> Schema | None:
        if head_subject not in self._tails:
            self._tails[head_subject] = _tail_schema(self._schema, self._registry.latest(head_subject)[1])
        return self._tails[head_subject]


def _tail_schema(schema: Schema, head: Schema) -> Schema | None:
    """``schema`` without its first field, if that field is exactly ``head`` (else splicing is unsafe)."""
    fields = schema.get("fields") if isinstance(schema, dict) else None
    if not fields or to_parsing_canonical_form(fields[0]["type"]) != to_parsing_canonical_form(head):
        return None
    plain = {key: value for key, value in schema.items() if not key.startswith("__")}
    return parse_schema(plain | {"name": f"{schema['name']}Tail", "fields": fields[1:]})


class AvroCodec:
    """Encode/decode Kafka values of the engine's subjects against a schema registry.

    Extra keys in a record are ignored on encode and missing keys take the schema default
    (fastavro's non-strict mode), so a trade decoded from hand-written JSON can be re-embedded.
    """

    def __init__(self, registry: SchemaRegistry) -> None:
        self.registry = registry
        self._decoders: dict[str, _SubjectDecoder] = {}
        self._encoders: dict[str, _SubjectEncoder] = {}

    def decoder(self, subject: str) -> Callable[[bytes], Record]:
        """Return the decode function of ``subject``, for loops that handle errors per record."""
        decoder = self._decoders.get(subject)
        if decoder is None:
            decoder = self._decoders[subject] = _SubjectDecoder(self.registry, subject)
        return decoder

    def _encoder(self, subject: str) -> _SubjectEncoder:
        """Return (building once) the encoder of ``subject``."""
        encoder = self._encoders.get(subject)
        if encoder is None:
            encoder = self._encoders[subject] = _SubjectEncoder(self.registry, subject)
        return encoder

    def decode(self, subject: str, value: bytes) -> Record:
        """Decode one Kafka value: Confluent-framed Avro, or a JSON object (first non-blank byte ``{``).

        Raises a CodecError subclass whose ``reason`` says what is wrong with the value.
        """
        decoder = self._decoders.get(subject) or self.decoder(subject)
        return decoder(value)

    def encode(self, subject: str, record: Record) -> bytes:
        """Encode ``record`` with the subject's latest schema, Confluent-framed."""
        return self._encoder(subject)(record)

    def canonical_body(self, subject: str, value: bytes, record: Record) -> bytes:
        """The Avro body of ``record`` in the subject's latest schema: two copies of the same content give
        the same bytes, whether they came as JSON, Avro or an older schema version. A value already
        framed with the latest schema is its own body (nothing re-encoded)."""
        encoder = self._encoder(subject)
        if value.startswith(encoder.header):
            return value[HEADER_SIZE:]
        return encoder(record)[HEADER_SIZE:]

    def encode_many(self, subject: str, records: Iterable[Record]) -> list[bytes]:
        """Encode a batch; the subject's schema and header are resolved once for the whole batch."""
        encoder = self._encoder(subject)
        return [encoder(record) for record in records]
