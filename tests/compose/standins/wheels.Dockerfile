# The Python stand-in with a wheelhouse (the build context): the base of the project image's
# build stage (build argument BUILD_IMAGE), so pip installs every package from it, no index.
ARG PYTHON_IMAGE
FROM ${PYTHON_IMAGE}
COPY . /wheels
ENV PIP_NO_INDEX=1 \
    PIP_FIND_LINKS=/wheels
