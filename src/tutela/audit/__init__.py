"""Audit: the events tutela records and the only code that writes them.

It records metadata (who, what, which guard decided what, token counts), never prompt or
response text and never key secrets.
"""
