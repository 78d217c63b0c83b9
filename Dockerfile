FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_URL=sqlite+aiosqlite:////var/lib/habar/habar.db

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

CMD ["python", "-m", "bot"]
