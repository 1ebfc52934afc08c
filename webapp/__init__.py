"""The Streamlit side of the app, the only package that imports Streamlit.

- `widgets.py`: what several pages share (the cached model, the canvas, the answer, the
  explanation, the feedback widget, the kiosk settings);
- `pages/<page>.py`: one script per page, whole in its file, run by `st.navigation` in app.py.

The core (`digits/`: preprocessing, the model, data, the game rules, feedback storage) never
imports Streamlit; tests/test_layout.py holds it to that.
"""
