# The gitops-ml image: the release binary on Debian bookworm-slim, run as UID 10001. Built by
# .github/workflows/release.yml from the release archives (dist/<arch>/gitops-ml), one per architecture;
# the agent's Deployment (deploy/gitops-ml-agent/) runs it.
FROM debian:bookworm-slim@sha256:3783cc01769c7b2b1b83a5c5ad96c815348e28ed7da68e2e3687004faa906251

ARG TARGETARCH

# What the binary loads beyond the base image: libcurl (opened at run time for HTTPS to git hosts and the
# Kubernetes API), CA certificates, GSSAPI and OpenSSL 3 (libgit2's). Their versions follow Debian's
# security updates, so they are not pinned; the base image is, by digest.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libcurl4 libgssapi-krb5-2 libssl3 \
    && rm -rf /var/lib/apt/lists/*

COPY --chmod=0755 dist/${TARGETARCH}/gitops-ml /usr/local/bin/gitops-ml

USER 10001:10001
ENTRYPOINT ["gitops-ml"]
