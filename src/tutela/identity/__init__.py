"""Identity: who is calling (API keys now; SSO sessions later) and what a role may do.

It must never log, return or store a key's secret part, and compares digests only in
constant time.
"""
