"""Jinja2 page routes and their templates."""
