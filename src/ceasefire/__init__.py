"""ceasefire: a leader's war-termination calculus, simulated under uncertainty."""

from __future__ import annotations

__version__ = "0.1.0"
