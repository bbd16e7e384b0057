"""Prompt-injection detection (placeholder docstring, replaced below)."""
