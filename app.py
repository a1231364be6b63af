"""The studio's Streamlit app, served by `python -m studio.streamlit_server` (`make studio` starts
it). Pages live in pages/ and are listed here (with st.navigation the folder is not
auto-discovered; pages/common.py and the other helpers are no pages). A plain `streamlit run
app.py` works too, but until someone opens the home page a deep link such as /train lists every
file of pages/ in the sidebar; the server entry point switches that discovery off first."""

import streamlit as st

st.set_page_config(page_title="Image Synthesis Studio", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/runs.py", title="Runs", icon=":material/monitoring:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
    st.Page("pages/style_lab.py", title="Style lab", icon=":material/palette:"),
    st.Page("pages/learn.py", title="Learn", icon=":material/school:"),
    st.Page("pages/problems.py", title="Problems", icon=":material/quiz:"),
    st.Page("pages/playground.py", title="Playground", icon=":material/draw:"),
]

st.navigation(PAGES).run()
