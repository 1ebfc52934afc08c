"""Challenge page: "Draw a 7", ten rounds, judged by the model (digits/challenge_ui.py)."""

from digits.challenge_ui import challenge_page

challenge_page()
