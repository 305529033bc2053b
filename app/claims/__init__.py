"""Subsidy claims as a workflow (issue 17): filed batches, review, notice, payment, recovery."""
