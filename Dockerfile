# One image for the whole cloud run (cloudbuild.yaml):
#  * Dataflow workers (`vidrec convert --runner DataflowRunner --sdk_container_image IMAGE`):
#    the Apache Beam Python SDK image of the SAME Beam and Python versions as the environment
#    that submits the job (pyproject pins apache-beam 2.77.x; tests/test_cloud_files.py checks
#    both against the test environment), with its /opt/apache/beam/boot ENTRYPOINT kept;
#  * Vertex AI training and tuning: GPU TensorFlow (the CUDA libraries come as pip wheels,
#    the driver from the GPU host); Vertex runs `vidrec ...` by overriding the command.
ARG PYTHON_VERSION=3.11
ARG BEAM_VERSION=2.77.0
FROM apache/beam_python${PYTHON_VERSION}_sdk:${BEAM_VERSION}
ARG PYTHON_VERSION
ARG BEAM_VERSION

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    KERAS_BACKEND=tensorflow \
    TF_CPP_MIN_LOG_LEVEL=2 \
    PYTHONUNBUFFERED=1

# The heavy layer first (cached while only the code changes): the same TensorFlow range as
# pyproject.toml, with the CUDA wheels; Beam pinned to the base image's version.
RUN pip install "tensorflow[and-cuda]>=2.21,<2.22" "apache-beam[gcp]==${BEAM_VERSION}"

COPY pyproject.toml README.md /tmp/vidrec/
COPY vidrec /tmp/vidrec/vidrec
COPY pipeline /tmp/vidrec/pipeline
COPY trainer /tmp/vidrec/trainer
COPY tuning /tmp/vidrec/tuning
COPY report /tmp/vidrec/report
COPY studies /tmp/vidrec/studies
# Not editable: the packages live in site-packages, where Dataflow workers import them.
# pyproject brings opencv-python-headless; opencv-python beside it breaks cv2 (opencv-python #370).
RUN pip install "/tmp/vidrec[gcp]" "apache-beam[gcp]==${BEAM_VERSION}" \
    && rm -rf /tmp/vidrec

# Fail the build, not the job: versions, headless OpenCV only, imports, the CLI.
RUN python -c "import sys, apache_beam; \
assert apache_beam.__version__ == '${BEAM_VERSION}', apache_beam.__version__; \
assert '%d.%d' % sys.version_info[:2] == '${PYTHON_VERSION}', sys.version" \
    && python -c "import importlib.metadata as m; \
names = {(d.metadata['Name'] or '').lower().replace('_', '-') for d in m.distributions()}; \
assert 'opencv-python-headless' in names and 'opencv-python' not in names, sorted(names)" \
    && python -c "import apache_beam, cv2, tensorflow as tf; \
print('beam', apache_beam.__version__, 'tensorflow', tf.__version__, 'opencv', cv2.__version__)" \
    && vidrec --help

# Dataflow starts workers through the Beam boot program; Vertex AI overrides it with `vidrec`.
ENTRYPOINT ["/opt/apache/beam/boot"]
