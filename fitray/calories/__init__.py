"""Calorie enrichment: the activity table, title -> activity resolution, and API clients."""
