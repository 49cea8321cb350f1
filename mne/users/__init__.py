"""Users, their roles and scopes, sign-in sessions and API tokens."""
