# Sourced by the setup scripts: Debian packages, as root or through sudo.

# as_root CMD...: runs CMD as root (directly when already root).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# apt_install PKG...: refreshes the package lists and installs PKG non-interactively.
# (env passes DEBIAN_FRONTEND through sudo, which would otherwise drop it.)
apt_install() {
  as_root apt-get update -qq &&
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}
