"""Draw-a-digit: `streamlit run app.py`. The pages live in app_pages/, shared code in digits/."""

import streamlit as st

st.set_page_config(page_title="Draw a digit", page_icon="✏️", layout="wide")

page = st.navigation([
    st.Page("app_pages/draw.py", title="Draw", icon="✏️", default=True),
    st.Page("app_pages/model.py", title="Model", icon="📊"),
])
page.run()
