"""Test helpers shipped with the package: the stand-in Anthropic upstream (``standin``).

Nothing here is imported by the gateway itself; it exists so tests, demos and
benchmarks can run a realistic upstream with no network.
"""
