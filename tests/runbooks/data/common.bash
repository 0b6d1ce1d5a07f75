# shellcheck disable=SC2317  # the common helpers: not every script calls each
set -uo pipefail
export LC_ALL=C
# shellcheck disable=SC2034  # not every script reads system paths
root=${AW_TEST_ROOT:-}  # tests only: a folder standing in for /; never set on a server
say() { printf '%s\n' "$*"; }
ok() { say "result: done: $*"; exit 0; }
fail() { say "result: failed: $*"; exit 1; }
refuse() { say "result: refused: $*"; exit 2; }
nothing() { say "result: nothing to do: $*"; exit 3; }
param() {  # param NAME REGEX [DEFAULT]: $NAME, or DEFAULT when empty; refused unless it matches
  local value=${!1:-${3-}}
  [[ $value =~ $2 ]] || refuse "$1 does not match $2"
  printf -v "$1" '%s' "$value"
}
# --- end of the common part
