"""The conversation on a result: comments by officers and reviewers, in order."""
