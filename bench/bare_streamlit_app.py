"""The floor of any Streamlit page here: a title and one metric, no data, no query.

bench_dashboard opens it like the real page (same server options, a fresh browser context
each visit) to tell Streamlit's own start-up from what fitray's page adds."""

import streamlit as st

st.set_page_config(page_title="bare", layout="wide")
st.title("bare")
with st.container(key="kpi-total"):
    st.metric("Total Exercises", "1,000,000", border=True)
