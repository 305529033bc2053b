"""The application, assembled: ``create_app()`` (``uvicorn --factory app.main:create_app``).

* ``factory``: ``create_app``, which puts the pieces below together in order;
* ``middleware``: the middleware stack; ``problems``: the error handlers (problem+json);
* ``routers``: every API and page router, and the static files;
* ``ops``: the operators' routes (``/healthz``, ``/readyz``, ``/metrics``, JWKS);
* ``lifespan``: start-up and shutdown, and the background loops.
"""

from app.main.factory import create_app

__all__ = ["create_app"]
