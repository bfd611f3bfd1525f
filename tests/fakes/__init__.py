"""Loopback HTTP fakes of the external services (vast.ai, Hugging Face, Ollama).

Each fake is a real HTTP server on 127.0.0.1 built on :class:`LoopbackServer`: it binds an
ephemeral port on loopback only, serves from a daemon thread, refuses to run past a request budget
and a wall-clock deadline, and stops when its fixture ends.
"""
