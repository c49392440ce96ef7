"""Needs: what procurement teams want to buy, with hard filters and soft preferences."""
