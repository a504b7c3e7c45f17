#!/usr/bin/env bash
# Debian's docker-compose, to validate docker/compose.yaml (no image registry is reachable here, so
# the images are not built; `config` checks the file and resolves every variable).
if ! command -v docker-compose > /dev/null; then
  echo "compose: installing Debian's docker-compose" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq docker-compose >&2
fi
