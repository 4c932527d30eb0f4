"""Fakes shared by unit tests of the downstream functions (importable: tests/unit has a conftest)."""

from collections.abc import Sequence

from riskengine.sinks import DeadLetter


class FakeDeadLetters:
    """Stores dead letters in a list; ``refuse`` makes it report them unsent, as a Kafka outage would."""

    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []
        self.refuse = False

    def write(self, letters: Sequence[DeadLetter]) -> list[DeadLetter]:
        if self.refuse:
            return list(letters)
        self.letters.extend(letters)
        return []

    def close(self) -> None:
        return None
