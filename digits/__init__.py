"""Draw-a-digit: preprocessing, model, data and tools shared by the app, the CLI and the tests."""
