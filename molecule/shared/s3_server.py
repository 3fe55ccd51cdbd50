"""The scenarios' S3-compatible server (backup, cluster): moto's S3 as a WSGI application, served by
gunicorn (threads, HTTP/1.1 keep-alive done right: pgBackRest reuses its connections,
which the development server moto_server runs on closes without a word)."""

from __future__ import annotations

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

app = DomainDispatcherApplication(create_backend_app)
