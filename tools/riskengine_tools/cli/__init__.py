"""The ``riskengine`` command-line tool (local runs, replays, operations)."""
