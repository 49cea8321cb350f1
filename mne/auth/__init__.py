"""Who is asking: sign-in sessions, API tokens, CSRF, and what each role may do."""
