"""kuzet — monitoring and crawling engine with evidence capture."""

from __future__ import annotations

__version__ = "0.1.0"
