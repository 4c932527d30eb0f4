"""Fixtures shared by the unit tests."""

import pytest
from unit_fakes import FakeDeadLetters


@pytest.fixture
def dead_letters() -> FakeDeadLetters:
    return FakeDeadLetters()
