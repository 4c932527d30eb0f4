"""The real ingest_trade handler, invoked with API Gateway events, on a fake producer and control state."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest
from ingest_fakes import FakeControl, FakeProducer, Invoke

from riskengine_tools.local.api_server import function_module, proxy_event
from riskengine_tools.local.bridge import LocalContext


@pytest.fixture(scope="session")
def handler() -> ModuleType:
    return function_module("ingest_trade")


@pytest.fixture
def producer(handler: ModuleType, monkeypatch: pytest.MonkeyPatch) -> FakeProducer:
    fake = FakeProducer()
    monkeypatch.setattr(handler, "default_trade_producer", lambda: fake)
    return fake


@pytest.fixture
def control(handler: ModuleType, monkeypatch: pytest.MonkeyPatch) -> FakeControl:
    fake = FakeControl()
    monkeypatch.setattr(handler, "default_control", lambda: fake)
    return fake


@pytest.fixture
def invoke(handler: ModuleType, producer: FakeProducer, control: FakeControl) -> Invoke:
    """``invoke(method, path, body)`` -> (status, headers, decoded JSON body); ``raw=`` sends bytes as they are."""

    def call(method: str, path: str, body: Any = None, *, raw: bytes | None = None) -> tuple[int, dict, Any]:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        event = proxy_event(method, path, [("Content-Type", "application/json")], data, "127.0.0.1")
        result = handler.lambda_handler(event, LocalContext())
        headers = {name: values[-1] for name, values in (result.get("multiValueHeaders") or {}).items()}
        return result["statusCode"], headers, json.loads(result["body"])

    return call
