"""REST routers under /api/v1. Handlers translate HTTP to service calls; no rules here."""
