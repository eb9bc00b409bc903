# graphport: the API server for the graphs of a langgraph.json.
#
#   docker build -t graphport .                        # serves ./langgraph.json
#   docker build -t my-agent --build-arg APP_DIR=my-agent .   # serves ./my-agent/langgraph.json
#
# The image needs a PostgreSQL: set DATABASE_URI (docker-compose.yml does).
ARG PYTHON_VERSION=3.11

# --- build: one virtualenv with graphport and the app's dependencies -----------------------
FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /app
# graphport first, from its own files only: this layer is kept while the graphs change.
COPY pyproject.toml README.md ./
COPY src/ src/
COPY migrations/ migrations/
RUN pip install . && rm -rf build src/*.egg-info
# Then the app: langgraph.json, its graphs, and its "dependencies". graphport's source goes
# to the same pip install, so that they are resolved with graphport's own requirements.
COPY . .
ARG APP_DIR=.
RUN python -m graphport.install_deps --config "${APP_DIR}/langgraph.json" /app \
    && rm -rf build src/*.egg-info

# --- runtime: the virtualenv and the app, run by an unprivileged user --------------------
FROM python:${PYTHON_VERSION}-slim
ARG APP_DIR=.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN useradd --create-home --uid 10001 --user-group graphport
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app/${APP_DIR}
USER graphport
EXPOSE 8000
# slim has no curl: ask /ok with Python's own urllib (an error status or no answer fails).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/ok', timeout=4)"]
CMD ["graphport", "serve", "--host", "0.0.0.0", "--port", "8000"]
