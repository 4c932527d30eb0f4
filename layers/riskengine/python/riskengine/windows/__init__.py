"""Sliding windows in Redis sorted sets: definitions (``spec``), the member encoding (``events``) and the
store that applies a batch with one Lua call per part (``store``, ``apply_batch.lua``).

A regular package, not a namespace package: packaging tools (setuptools' ``find_packages``, the layer
bundler) only ship folders that have this file.
"""
