# One image for every Vigil service and the CLI; the command picks the service.
# The analyzer's detector dependencies arrive with the analyzer (build arg WITH_ANALYZER).
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY libs ./libs
COPY migrations ./migrations
COPY cli ./cli
COPY tools ./tools
COPY services ./services
COPY requirements ./requirements
RUN python -m venv /opt/vigil \
 && /opt/vigil/bin/pip install -c requirements/constraints.txt \
      ./libs/schema ./libs/runtime ./migrations ./cli ./tools \
      ./services/ingest ./services/analyzer ./services/optimizer ./services/alerter ./services/retention

FROM python:3.11-slim
RUN useradd --system --uid 10001 --no-create-home vigil
COPY --from=build /opt/vigil /opt/vigil
ENV PATH=/opt/vigil/bin:$PATH PYTHONUNBUFFERED=1 VIGIL_ENV_FILE=/dev/null
USER 10001
# Every service serves /metrics, /healthz and /readyz on VIGIL_HTTP_PORT.
CMD ["vigil", "--help"]
