"""The Streamlit web app's pages and the helpers they share. Only this package (and app.py) imports
Streamlit; pages render and call `holdspace.services`."""
