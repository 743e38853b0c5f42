"""HTTP layer: blueprints, templates, static files and the WSGI fast path."""
