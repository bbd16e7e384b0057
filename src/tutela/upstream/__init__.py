"""Upstreams: the only package that opens HTTP connections to a model provider.

It owns the Anthropic client (timeouts, retries before the first byte, circuit breaker)
and the built-in offline model. It must never look at who the caller is or apply policy.
"""
