"""Procedural narrative: story sifting, quests, director and adaptive difficulty (issue: narrative)."""
