"""Persistence: typed models, the engine/unit of work, repository queries and migrations."""
