"""Suppression: inline comments (applied per file in the workers), config
ignores with expiry, rule settings and the baseline (applied in the parent)."""
