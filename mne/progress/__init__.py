"""Indicator progress: the pure rules of SPEC section 5 live in ``rules``."""
