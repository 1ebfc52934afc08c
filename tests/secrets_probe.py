"""Run by test_feedback_widget.py under a real `streamlit run`: writes what the feedback settings
see (enabled, where) to the file named by DIGITS_PROBE_OUT, after Streamlit loaded the secrets."""

import json
import os

from digits.features import feedback

with open(os.environ["DIGITS_PROBE_OUT"], "w") as out:
    json.dump({"enabled": feedback.enabled(), "where": feedback.shown(feedback.location())}, out)
