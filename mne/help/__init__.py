"""Help pages: how the figures are computed, in plain words, for the people who read them."""
