"""Local tooling around the engine: the ``riskengine`` CLI, the embedded services, the demo, replay and redrive.

Installed for development from this repository (``pip install -e '.[local]'``); the Lambda layer never ships it.
"""
