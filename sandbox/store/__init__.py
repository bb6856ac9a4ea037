"""The reference store: a local implementation of the Store API contract.

``docs/store-api.openapi.yaml`` is the contract a real store implements; this package is the
stand-in the bot talks to in tests and the offline demo (``callproc store`` runs it alone):

- :mod:`sandbox.store.catalogue` - the sample catalogue (``catalogue.json``) with stock per city;
- :mod:`sandbox.store.search` - free-text search tolerant of speech-recognition spellings;
- :mod:`sandbox.store.server` - the HTTP API, with fault knobs and a request log;
- :mod:`sandbox.store.make_catalogue` - the deterministic generator of ``catalogue.json``.
"""
