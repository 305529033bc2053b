"""Webhooks for partner platforms: subscriptions, a transactional outbox, signed delivery."""
