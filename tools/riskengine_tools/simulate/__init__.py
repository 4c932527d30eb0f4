"""``riskengine simulate``: a seeded, labelled stream of trades and order events for back-tests.

The engine's trade simulator (``riskengine.simulation``, shipped in the Lambda layer) supplies the
trade flow and the spine's injected episodes; this package adds what only the dev tooling needs: an
order flow of its own traders on the same price walk (``flow``, ``lookalikes``), the injected
order-book episodes (``episodes``: one planner per pattern), the merge in event time (``stream``)
and the files (``run``). docs/simulation.md describes the files, the episodes and the look-alikes.
"""

from riskengine_tools.simulate.flow import EPISODES, LOOKALIKES
from riskengine_tools.simulate.run import LABELS_FILE, STREAM_FILE, SimulateReport, simulate
from riskengine_tools.simulate.stream import MixedStream, StreamConfig

__all__ = [
    "EPISODES",
    "LABELS_FILE",
    "LOOKALIKES",
    "STREAM_FILE",
    "MixedStream",
    "SimulateReport",
    "StreamConfig",
    "simulate",
]
