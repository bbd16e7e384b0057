"""Ingress: the ASGI app that speaks Anthropic's Messages API to clients.

It parses, authenticates, hands the exchange to the pipeline and the upstream, relays
JSON and SSE, and renders every refusal in Anthropic's error shape. It never imports a
guard, never opens an upstream connection itself, and never logs request content.
"""
