# Lead Flood: one image for the API (`leadflood serve`) and the workers (`leadflood worker`).
# Build: docker build -t leadflood .   See docs/deploy.md.

# 1. Build: the locked dependencies (hash-checked) and the project, in a virtualenv.
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/leadflood
WORKDIR /src
COPY requirements/run.txt requirements/run.txt
RUN /opt/leadflood/bin/pip install --require-hashes -r requirements/run.txt
COPY pyproject.toml README.md ./
COPY src src
RUN /opt/leadflood/bin/pip install --no-deps .

# 2. Run: the virtualenv only, as an unprivileged user.
FROM python:3.11-slim-bookworm
ENV PATH=/opt/leadflood/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    LEADFLOOD_ENV=production \
    LEADFLOOD_DATA_DIR=/var/lib/leadflood \
    LOG_FORMAT=json
RUN groupadd --system leadflood \
    && useradd --system --gid leadflood --home-dir /var/lib/leadflood --create-home leadflood
COPY --from=build /opt/leadflood /opt/leadflood
USER leadflood
WORKDIR /var/lib/leadflood
EXPOSE 8000
# /health answers while the process serves; /ready also checks the database and the workers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)"]
CMD ["leadflood", "serve", "--host", "0.0.0.0", "--port", "8000"]
