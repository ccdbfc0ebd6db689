# The kwps image: one static binary on distroless, running as a non-root user. The operator and the
# gateway pods it deploys run the same image (`kwps operator`, `kwps gateway`).
#
#   make docker-build IMG=registry.example.com/kwps:v0.1.0
ARG GO_VERSION=1.26

# Build on the build machine's platform and cross-compile: no emulation for multi-arch images.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS builder
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
ENV CGO_ENABLED=0
WORKDIR /src
# Modules first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# `make build-static` is the one definition of the release flags (CGO_ENABLED=0, -trimpath, the
# version stamp), so this image holds exactly what that target builds on a workstation.
RUN GOOS=${TARGETOS} GOARCH=${TARGETARCH} make build-static VERSION=${VERSION} KWPS=/out/kwps

FROM gcr.io/distroless/static:nonroot
COPY --from=builder /out/kwps /kwps
USER 65532:65532
ENTRYPOINT ["/kwps"]
