"""The Streamlit playground: views over the rnnlm core. Run with `streamlit run playground/app.py`."""
