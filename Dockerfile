# Ferry's container image: nothing but the static binary and CA certificates.
#
# Build it with `make image` (IMAGE=name:tag), which compiles the binary with
# CGO_ENABLED=0 and copies the build machine's CA bundle into a build context
# of their own (bin/image); FROM scratch pulls nothing, so no registry is
# needed. Configure the container as Traefik's: flags
# (--entryPoints.web.address=:80 --providers.docker …), FERRY_* variables, or
# --config with a mounted file. See configs/compose.yaml.
FROM scratch
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY ferry /ferry
# Without arguments, print how to configure it rather than serve the demo
# configuration embedded in the binary.
ENTRYPOINT ["/ferry"]
CMD ["--help"]
