"""Where results go: one sink per destination, all behind the :class:`Sink` protocol."""

from riskengine.sinks.base import DeadLetter, Sink, Topics
from riskengine.sinks.dead_letters import DeadLetterWriter
from riskengine.sinks.jsonl import JsonlSink
from riskengine.sinks.kafka import KafkaSink
from riskengine.sinks.memory import DiscardSink, MemorySink

__all__ = ["DeadLetter", "DeadLetterWriter", "DiscardSink", "JsonlSink", "KafkaSink", "MemorySink", "Sink", "Topics"]
