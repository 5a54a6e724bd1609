# One image for every flashsale process: the four services (`python -m <package>`) and the
# `flashsale` CLI (`flashsale init`, `check`, `repair`, `dlq replay`); compose.yaml picks the
# command. Build: docker build -t flashsale:local .
#
# Both stages use the same base image, so the venv's interpreter link (/usr/local/bin/python)
# is valid in the runtime stage too.

# --- assets: the dashboard's chart library (uPlot), pinned by dashboard/package-lock.json ---
FROM node:22.20.0-bookworm-slim AS assets
WORKDIR /dashboard
COPY dashboard/package.json dashboard/package-lock.json ./
RUN npm ci --no-audit --no-fund

# --- builder: the project as a wheel, installed with its dependencies into /opt/venv --------
FROM python:3.12.12-slim-trixie AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /src
COPY pyproject.toml README.md ./
COPY flashsale/ flashsale/
COPY gateway/ gateway/
COPY order_service/ order_service/
COPY inventory_consumer/ inventory_consumer/
COPY notification_consumer/ notification_consumer/
COPY dashboard/ dashboard/

# Every dependency ships binary wheels (confluent-kafka bundles librdkafka, psycopg[binary]
# bundles libpq): no compiler is needed. The venv gets no pip of its own (the builder's pip
# installs into it), and pip compiles the .pyc files here, so the runtime never writes any.
RUN pip wheel --no-deps --wheel-dir /wheels . \
    && python -m venv --without-pip /opt/venv \
    && pip --python /opt/venv/bin/python install /wheels/flashsale-*.whl

# --- runtime: the venv and a non-root user, nothing else -----------------------------------
FROM python:3.12.12-slim-trixie AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH

RUN groupadd --system --gid 10001 flashsale \
    && useradd --system --uid 10001 --gid flashsale --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin flashsale

COPY --from=builder /opt/venv /opt/venv
# Where dashboard/app.py serves it from: beside the installed package.
COPY --from=assets /dashboard/node_modules/uplot/dist /opt/venv/lib/python3.12/site-packages/dashboard/node_modules/uplot/dist

# Numeric, so that a runtime can check it is not root without reading /etc/passwd
# (Kubernetes' runAsNonRoot does exactly that).
USER 10001:10001

# Compose sets the command per service; alone, the image shows the operator's CLI.
CMD ["flashsale", "--help"]
