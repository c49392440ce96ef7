"""Offers: products, technologies and services listed by vendors, with their footprints."""
