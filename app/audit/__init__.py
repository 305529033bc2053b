"""Append-only, tamper-evident audit log: hash chains per institution, signed checkpoints."""
