# The engine's image: the worker and the starter, static binaries on
# distroless, running as the unprivileged "nonroot" user (65532).
#   docker build -t outreach:dev .
# The worker is the default command; run the starter with
#   docker run --rm outreach:dev /starter db migrate
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/ ./worker ./starter

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/worker /out/starter /
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT []
CMD ["/worker"]
