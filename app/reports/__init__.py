"""Reports for regulators and institutions: fraud indicators (and, later, statistics)."""
