"""``riskengine open-gates``: the one-off step of an upgrade to order-book window gates (docs/deploy.md).

Order-book windows written before gates existed have no gate, so ``score_trades`` would take them for
windows that never held an order event: skip reading them, trim them to the last 90 s and let them
expire within minutes, although they may hold orders SPOOFING needs. Opening the gate of every
existing order-book window gives back exactly the behaviour they were written under; a window with
no order event in it is then only read as before gates (never a wrong answer).
"""

from __future__ import annotations

import redis
import typer
from redis.cluster import RedisCluster
from rich.console import Console

from riskengine.runtime import redis_client
from riskengine.settings import Settings
from riskengine.windows.spec import KEY_PREFIX

__all__ = ["open_gates", "open_order_book_gates"]

console = Console(stderr=True)
ORDER_BOOK_WINDOWS = f"{KEY_PREFIX}:{{u:*}}:ob:*"
_NOT_WINDOWS = (":gate", ":alerts", ":vol")


def open_order_book_gates(client: redis.Redis | RedisCluster) -> tuple[int, int]:
    """Give every order-book window without a gate one, expiring with it. Returns (windows, gates opened)."""
    windows = opened = 0
    for raw in client.scan_iter(match=ORDER_BOOK_WINDOWS, count=1_000, _type="zset"):
        key = raw.decode() if isinstance(raw, bytes) else raw
        if key.endswith(_NOT_WINDOWS):
            continue
        windows += 1
        ttl = client.pttl(key)
        if ttl > 0 and client.set(f"{key}:gate", "1", px=ttl, nx=True):
            opened += 1
    return windows, opened


def open_gates() -> None:
    """Open the gate of every order-book window written before gates existed (run once, when upgrading).

    Connects as the functions do, from this environment: REDIS_URL, REDIS_CLUSTER, and the IAM settings of
    docs/configuration.md. Safe to run again: windows that have a gate keep it.
    """
    settings = Settings.from_env()
    try:
        windows, opened = open_order_book_gates(redis_client(settings))
    except redis.RedisError as exc:
        console.print(f"[red]Could not reach Redis at {settings.redis_url}: {exc}. Check REDIS_URL and access.[/red]")
        raise typer.Exit(1) from exc
    console.print(f"{windows:,} order-book windows, {opened:,} gates opened (the others had one already).")
