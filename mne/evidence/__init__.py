"""Evidence files (means of verification) attached to results: stored by content hash under
``MNE_FILES_DIR``, typed by their content, locked with an approved result."""
