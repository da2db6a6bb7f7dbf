# Convodesk against an external PostgreSQL given by DATABASE_URL:
#   docker build -t convodesk .
#   docker run -p 8000:8000 -p 2525:2525 \
#     -e DATABASE_URL=postgresql://user:pass@db.example.com:5432/convodesk \
#     -e CONVODESK_SECRET_KEY="$(openssl rand -base64 48)" \
#     -e CONVODESK_PUBLIC_URL=https://desk.example.com \
#     convodesk
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CONVODESK_DATA_DIR=/data

RUN useradd --create-home --uid 10001 convodesk && mkdir /data && chown convodesk /data
WORKDIR /srv/convodesk
COPY pyproject.toml README.md piccolo_conf.py ./
COPY app ./app
COPY templates ./templates
COPY static ./static
RUN pip install --no-cache-dir -e .

USER convodesk
EXPOSE 8000 2525
# `serve` applies migrations (under an advisory lock) before it starts listening.
CMD ["convodesk", "serve", "--host", "0.0.0.0", "--port", "8000"]
