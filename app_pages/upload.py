"""Upload page: a photo, scan or image file of one digit, read like a drawing."""

import streamlit as st

from digits.upload_ui import upload_panel

st.title("📷 Read an image")
upload_panel()
