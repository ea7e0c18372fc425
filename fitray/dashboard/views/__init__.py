"""The dashboard's pages, one module per page: each has ``TITLE``, ``URL_PATH`` and ``render()``."""
