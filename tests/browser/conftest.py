"""The browser tests' fixtures: one real Streamlit server and one headless Chromium per module."""

from browser_util import browser, streamlit_server  # noqa: F401  (registered as fixtures here)
