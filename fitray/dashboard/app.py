"""Streamlit entry point: ``streamlit run fitray/dashboard/app.py`` (``fitray dashboard`` does).

A multipage app: each page is one module of :mod:`fitray.dashboard.views` with ``TITLE``,
``URL_PATH`` and ``render()``; add a page by adding its module to :data:`PAGES`. The first
page is the default one (served at ``/``).
"""

from __future__ import annotations

from types import ModuleType

import streamlit as st

from fitray.dashboard.views import analysis, health

__all__ = ["PAGES", "main"]

PAGES: tuple[ModuleType, ...] = (analysis, health)


def main() -> None:
    st.set_page_config(page_title="fitray", layout="wide")
    pages = [
        st.Page(view.render, title=view.TITLE, url_path=view.URL_PATH, default=index == 0)
        for index, view in enumerate(PAGES)
    ]
    st.navigation(pages, position="top").run()


if __name__ == "__main__":
    main()
