# The fitray image used by docker-compose.yml for the calorie API (and any fitray command).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY fitray fitray
COPY services services
COPY flows flows
COPY data data
COPY mapping mapping
RUN pip install --no-cache-dir .
ENTRYPOINT []
