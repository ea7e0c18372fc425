"""Test-wide fixtures live in plugins under tests/fixtures, one per kind of server."""

pytest_plugins = ["tests.fixtures.stack", "tests.fixtures.calorie_service", "tests.fixtures.proxy"]
