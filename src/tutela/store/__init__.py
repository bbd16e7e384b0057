"""Storage: the schema, its migrations, and the one repository every part writes through.

It owns SQL. It must never hold plaintext secrets (keys are stored as digests) and must
never be called on the event loop's thread.
"""
