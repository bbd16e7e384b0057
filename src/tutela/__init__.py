"""tutela: a self-hosted security gateway and governance console for Anthropic's Claude."""

__version__ = "0.1.0"
