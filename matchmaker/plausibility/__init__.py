"""Plausibility review: a vendor's footprint far below what its product's peers state is held for the
operator before it is published (`rule` decides, `service` holds and releases)."""
