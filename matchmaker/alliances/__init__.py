"""Alliances (CN100 and others) and memberships, granted by the operator or an alliance's admin."""
