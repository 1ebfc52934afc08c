"""Draw-a-digit: `streamlit run app.py`. The pages live in app_pages/, shared code in digits/."""

import streamlit as st

from digits.kiosk import kiosk_mode

st.set_page_config(page_title="Draw a digit", page_icon="✏️", layout="wide")

if kiosk_mode(st.query_params):  # DIGITS_KIOSK=1 or ?kiosk=1: one page, no menus
    page = st.navigation([st.Page("app_pages/kiosk.py", title="Draw", icon=":material/edit:", default=True)],
                         position="hidden")
else:
    page = st.navigation([
        st.Page("app_pages/draw.py", title="Draw", icon=":material/edit:", default=True),
        st.Page("app_pages/upload.py", title="Upload", icon=":material/upload:"),
        st.Page("app_pages/number.py", title="Number", icon=":material/pin:"),
        st.Page("app_pages/challenge.py", title="Challenge", icon=":material/emoji_events:"),
        st.Page("app_pages/model.py", title="Model", icon=":material/insights:"),
        st.Page("app_pages/feedback.py", title="Feedback", icon=":material/thumb_up:"),
    ], position="top")  # the sidebar cost ~25 ms from pen-up to answer on every drawing (bench/)
page.run()
