"""chatbackend: a small WebSocket chat backend with a tiny tool-using agent."""

__version__ = "1.0.0"
