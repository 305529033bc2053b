"""Idempotency-Key: a retried POST/PATCH under /api/v1 acts once (DESIGN.md §5)."""
