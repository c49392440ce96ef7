"""Embeddings and vector indexes, behind small interfaces (no FastAPI, no SQLAlchemy here)."""
