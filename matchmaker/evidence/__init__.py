"""Verification evidence: the vendor shows who verified its footprint; the operator accepts or rejects it."""
