"""Screens over the main panes: the detail of a pull or image, and the key help."""
