"""The local dashboard over the warehouse (Streamlit) and its static report.

- ``queries``: SQL text, pure; ``source``: read-only connections per backend;
  ``analysis``: the numbers; ``charts``: how they look; ``report``: HTML + PNG files;
  ``server``: the Streamlit process; ``app`` + ``views/``: the pages (one module each).

Nothing here is imported by a pipeline; the batch flow calls :func:`report.refresh_report`.
"""
