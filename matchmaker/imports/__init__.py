"""Bulk import of offers and needs (exchange format, JSON Lines or CSV) and of the Carbon Catalogue."""
