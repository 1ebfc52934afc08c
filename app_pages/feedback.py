"""Feedback page: what visitors confirmed, and how often the model was right (digits/feedback_ui.py)."""

from digits.feedback_ui import feedback_page

feedback_page()
