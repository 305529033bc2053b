"""The phone hand-off: continue a pending face check on a phone (see service.py)."""
