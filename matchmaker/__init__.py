"""Matchmaker: match low-carbon supply with procurement demand."""

__version__ = "0.1.0"
