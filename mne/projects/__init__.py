"""Projects: what a country office registers against priorities and countries."""
