# The Convodesk image: `convodesk` is the entrypoint, so one image runs every role by its
# command (deploy/docker-compose.yml runs all of them):
#   docker build -t convodesk .
#   docker run convodesk migrate                            # apply migrations, exit
#   docker run -p 8000:8000 convodesk                       # serve (the default command)
#   docker run convodesk worker                             # background workers only
# each with DATABASE_URL, CONVODESK_SECRET_KEY and CONVODESK_PUBLIC_URL set, e.g.
#   -e DATABASE_URL=postgresql://user:pass@db.example.com:5432/convodesk
#   -e CONVODESK_SECRET_KEY="$(openssl rand -base64 48)"
#   -e CONVODESK_PUBLIC_URL=https://desk.example.com
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CONVODESK_DATA_DIR=/data

RUN useradd --create-home --uid 10001 convodesk && mkdir /data && chown convodesk /data
WORKDIR /srv/convodesk
COPY pyproject.toml README.md piccolo_conf.py ./
COPY app ./app
COPY templates ./templates
COPY static ./static
# Editable, because the pages find templates/ and static/ beside the package; only the
# runtime dependencies (no `[test]` extra: no pytest, Playwright, mypy in the image).
RUN pip install --no-cache-dir -e .

USER convodesk
EXPOSE 8000 2525
ENTRYPOINT ["convodesk"]
# `serve` applies migrations (under an advisory lock) before it starts listening.
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
