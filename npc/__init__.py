"""NPC agents: needs, utility decisions, schedules, memory, relationships (issue: NPC agents)."""
