"""Organisations (buyers, vendors, the operator) and their API keys."""
