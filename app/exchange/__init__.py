"""Data exchange with the regional real-name training system (issue 17 item 6)."""
