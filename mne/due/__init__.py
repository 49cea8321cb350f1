"""What is due: each indicator line's report per period (by its reporting frequency), its state,
and what waits for review — for the officer's and the reviewer's home pages, `GET /api/v1/due`
and the reminders."""
