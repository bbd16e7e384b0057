"""Admin: the API (and later the console) on its own port, never on the gateway port.

It must never be mounted on the gateway's listener, and every route it serves beyond
health and metrics declares the permission it needs.
"""
