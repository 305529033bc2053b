"""What of a person may be shown to whom: masked forms of names (ID numbers: ``idcard.mask``)."""

from __future__ import annotations


def mask_name(name: str) -> str:
    """王小明 → 王*明, 王明 → 王*, so a page confirms a person without exposing a full name."""
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
