"""Draw-a-digit, the core: preprocessing, model, data and tools shared by the app, the CLI and the
tests. Never imports Streamlit (the Streamlit side is the webapp package; tests/test_layout.py)."""
