"""One module per page. Streamlit runs each as a script (`__name__ == "__main__"`); importing one (tests)
only defines its `render` function."""
