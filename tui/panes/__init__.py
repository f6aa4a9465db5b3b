"""The three panes of the main screen, one module each: in progress, completed, pulled more than once."""
