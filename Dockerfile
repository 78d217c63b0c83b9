FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_URL=sqlite+aiosqlite:////var/lib/habar/habar.db \
    WEB_HOST=0.0.0.0 \
    WEB_PORT=8080

WORKDIR /app

RUN groupadd --system --gid 10001 habar \
    && useradd --system --uid 10001 --gid habar --home-dir /app --shell /usr/sbin/nologin habar \
    && mkdir -p /var/lib/habar \
    && chown habar:habar /var/lib/habar

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY feeds ./feeds
RUN pip install --no-cache-dir .

USER 10001:10001
VOLUME ["/var/lib/habar"]
# /healthz, /readyz, /metrics and, with WEBHOOK_URL set, the webhook path.
EXPOSE 8080
# The image has Python but no curl: ask /healthz with the standard library.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('WEB_PORT', '8080'), timeout=4)"]

CMD ["python", "-m", "bot"]
