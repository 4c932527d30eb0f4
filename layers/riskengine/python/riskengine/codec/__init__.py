"""Wire codec for the engine's Kafka values: Confluent-framed Avro against versioned schemas.

Schemas live in ``schemas/`` (one folder per subject, one ``v<N>.avsc`` per version, fixed ids in
``ids.json``); :func:`registry_from_env` picks a real Confluent registry when one is configured.
"""

from .avro import HEADER_SIZE, MAGIC_BYTE, AvroCodec, HeadEncoded, Record
from .errors import (
    AvroDecodeError,
    AvroEncodeError,
    CodecError,
    JsonDecodeError,
    MalformedFrame,
    RegistryUnavailable,
    UnknownSchemaId,
    UnknownSubject,
)
from .registry import (
    ALERTS_SUBJECT,
    ANALYZED_TRADES_SUBJECT,
    ORDERS_SUBJECT,
    SCHEMA_DIR_ENV,
    SUBJECT_DIRS,
    TRADES_SUBJECT,
    ConfluentSchemaRegistry,
    FixedIdRegistry,
    SchemaRegistry,
    VersionInfo,
    registry_from_env,
)

__all__ = [
    "ALERTS_SUBJECT",
    "ANALYZED_TRADES_SUBJECT",
    "HEADER_SIZE",
    "MAGIC_BYTE",
    "ORDERS_SUBJECT",
    "SCHEMA_DIR_ENV",
    "SUBJECT_DIRS",
    "TRADES_SUBJECT",
    "AvroCodec",
    "AvroDecodeError",
    "AvroEncodeError",
    "CodecError",
    "ConfluentSchemaRegistry",
    "FixedIdRegistry",
    "HeadEncoded",
    "JsonDecodeError",
    "MalformedFrame",
    "Record",
    "RegistryUnavailable",
    "SchemaRegistry",
    "UnknownSchemaId",
    "UnknownSubject",
    "VersionInfo",
    "registry_from_env",
]
