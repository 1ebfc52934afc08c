"""The Streamlit side of the app, the only package that imports Streamlit.

- `widgets.py`: what several pages share (the cached Reader, how an answer is shown, the
  explanation, the feedback widget, the kiosk settings);
- `live_canvas.py` (+ `live_canvas.js`): the drawing canvas every page with a canvas uses, with
  live reading, its controls and the checks of what the browser sends;
- `pages/<page>.py`: one script per page, whole in its file, run by `st.navigation` in app.py.

The core (`digits/`: preprocessing, the model, the answer (`digits/answer.py`), data, the game
rules, feedback storage) never imports Streamlit; tests/test_layout.py holds it to that.
"""
