"""Draw-a-digit: `streamlit run app.py`. The pages live in webapp/pages/ (one file each), what
they share in webapp/widgets.py, the core (no Streamlit) in digits/."""

import streamlit as st

from webapp.widgets import kiosk_mode

st.set_page_config(page_title="Draw a digit", page_icon=":material/edit:", layout="wide")

if kiosk_mode(st.query_params):  # DIGITS_KIOSK=1 or ?kiosk=1: one page, no menus
    page = st.navigation([st.Page("webapp/pages/kiosk.py", title="Draw", icon=":material/edit:", default=True)],
                         position="hidden")
else:
    page = st.navigation([
        st.Page("webapp/pages/draw.py", title="Draw", icon=":material/edit:", default=True),
        st.Page("webapp/pages/upload.py", title="Upload", icon=":material/upload:"),
        st.Page("webapp/pages/number.py", title="Number", icon=":material/pin:"),
        st.Page("webapp/pages/challenge.py", title="Challenge", icon=":material/emoji_events:"),
        st.Page("webapp/pages/model.py", title="Model", icon=":material/insights:"),
        st.Page("webapp/pages/feedback.py", title="Feedback", icon=":material/thumb_up:"),
    ], position="top")  # the sidebar cost ~25 ms from pen-up to answer on every drawing (bench/)
page.run()
