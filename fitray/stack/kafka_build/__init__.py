"""Build files for the local Kafka broker (Maven pom, log4j2 configuration)."""
