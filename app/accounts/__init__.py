"""Users, roles, institutions, real-name registration, auth, API keys and consent."""
