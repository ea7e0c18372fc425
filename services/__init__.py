"""Runnable services that stand in for external systems on a laptop (the calorie API)."""
