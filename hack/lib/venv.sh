# Creates .venv (if needed) and installs the package with its test tools. Sourced, not run.
# PYTHONSAFEPATH: the repo root holds operator/, which must never shadow the standard
# library's `operator` module when Python runs from here (python -m ..., pytest).
export PYTHONSAFEPATH=1

ensure_venv() {
  local py="${PYTHON:-python3}"
  command -v "$py" >/dev/null || die "python3 is not installed (Python 3.11+ is needed)"
  "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    die "Python 3.11+ is needed; $py is $("$py" -V 2>&1)"
  if [[ ! -x .venv/bin/python ]]; then
    log "creating .venv"
    "$py" -m venv .venv
  fi
  # A hash of pyproject.toml decides whether the install is current; a new module also needs
  # a reinstall (the strict editable install links each file), so count the files too.
  local want have
  want="$( (cat pyproject.toml; find operator api cli -type f \( -name '*.py' -o -path '*/templates/*' -o -path '*/data/*' \) | sort) | sha256sum | cut -c1-16)"
  have="$(cat .venv/.installed 2>/dev/null || true)"
  if [[ "$want" != "$have" ]]; then
    log "installing alert-whisperer and its test tools into .venv"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[test]' --config-settings editable_mode=strict
    echo "$want" > .venv/.installed
  fi
  export PATH="$PWD/.venv/bin:$PATH"
}
