"""Matching: eligibility under hard filters, relevance ranking, explanations, and the vector indexes."""
