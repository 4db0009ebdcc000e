#!/usr/bin/env bash
# Lints everything under deploy/ with the tools that would run it, short of a cluster, a
# container engine and systemd as PID 1 (docs/deploy.md, "What is tested"):
#   - yamllint over every YAML file (deploy/lint/yamllint.yaml);
#   - the Kubernetes manifests against the API's OpenAPI schemas (deploy/lint/lint.mjs), and
#     a copy with a broken field that must fail, so that this test can fail;
#   - the ConfigMap's collect.yaml and deploy/systemd/collect.yaml with kscope collect
#     --check-config, and the ports and memory limits that must agree with them;
#   - deploy/prometheus/prometheus.yml with promtool (Debian's lacks Kubernetes discovery:
#     deploy/lint/promsd.mjs checks those blocks and promtool the rest);
#   - the systemd unit with systemd-analyze verify, pointed at KSCOPE_BINARY;
#   - that every shared library of KSCOPE_BINARY comes from a package deploy/Dockerfile
#     installs, or from the base image's libc6 and libgcc-s1.
# Needs no root. Usage: deploy_lint_test.sh /path/to/kscope
set -uo pipefail

kscope=${1:?usage: $0 /path/to/kscope}
kscope=$(realpath "$kscope")
root=$(cd "$(dirname "$0")/../.." && pwd)
deploy=$root/deploy
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
ok() {
  echo "ok: $*"
  checks=$((checks + 1))
}

[[ -x $kscope ]] || { echo "FAIL: $kscope is not an executable" >&2; exit 1; }
for tool in yamllint node promtool systemd-analyze ldd dpkg setpriv; do
  command -v "$tool" >/dev/null ||
    { echo "FAIL: $tool is not installed: run scripts/install-deps.sh" >&2; exit 1; }
done
lint=$deploy/lint
if [[ ! -d $lint/node_modules/kubernetes-models || ! -d $lint/node_modules/yaml ||
      ! -d $lint/node_modules/@kubernetes-models/prometheus-operator ]]; then
  echo "FAIL: deploy/lint/node_modules is missing: run scripts/install-deps.sh" \
    "(npm ci --prefix deploy/lint)" >&2
  exit 1
fi
# node_modules as package-lock.json pins it (an old install would validate old schemas).
if ! node -e '
  const lock = require(process.argv[1] + "/package-lock.json");
  let stale = [];
  for (const [path, p] of Object.entries(lock.packages))
    if (path.startsWith("node_modules/")) {
      let v; try { v = require(process.argv[1] + "/" + path + "/package.json").version; } catch {}
      if (v !== p.version) stale.push(`${path.slice(13)} ${v ?? "missing"} (lock: ${p.version})`);
    }
  if (stale.length) { console.error(stale.join("\n")); process.exit(1); }' "$lint" 2>"$tmp/stale"; then
  echo "FAIL: deploy/lint/node_modules does not match package-lock.json: run" \
    "scripts/install-deps.sh (npm ci --prefix deploy/lint)" >&2
  cat "$tmp/stale" >&2
  exit 1
fi

# 1. yamllint
mapfile -t yamls < <(find "$deploy" -path "$lint/node_modules" -prune -o \
  -type f \( -name '*.yaml' -o -name '*.yml' \) -print | sort)
if yamllint -c "$lint/yamllint.yaml" -s -f parsable "${yamls[@]}" >"$tmp/yamllint" 2>&1; then
  ok "yamllint: ${#yamls[@]} files"
else
  fail "yamllint:"
  cat "$tmp/yamllint" >&2
fi

# 2. The manifests against the schemas.
manifests=("$deploy"/kubernetes/*.yaml)
if node "$lint/lint.mjs" "${manifests[@]}" >"$tmp/lint" 2>&1; then
  ok "$(cat "$tmp/lint")"
else
  fail "lint.mjs:"
  cat "$tmp/lint" >&2
fi

# 2b. The linter must fail on a broken DaemonSet: a wrong type and a misspelt field.
# expect_lint_failure NAME SED_EXPRESSION WANTED_MESSAGE
expect_lint_failure() {
  local name=$1 expr=$2 want=$3 broken=$tmp/broken-$1.yaml
  sed "$expr" "$deploy/kubernetes/kscope.yaml" >"$broken"
  if cmp -s "$broken" "$deploy/kubernetes/kscope.yaml"; then
    fail "self-check $name: '$expr' changed nothing in kscope.yaml"
    return
  fi
  if node "$lint/lint.mjs" "$broken" >"$tmp/neg" 2>&1; then
    fail "self-check $name: lint.mjs passed a DaemonSet with $name"
  elif ! grep -qF -- "$want" "$tmp/neg"; then
    fail "self-check $name: lint.mjs failed without naming '$want':"
    cat "$tmp/neg" >&2
  else
    ok "self-check: lint.mjs fails on $name ($(grep -F -- "$want" "$tmp/neg" | head -1 | sed 's/.*): //'))"
  fi
}
expect_lint_failure 'hostNetwork: "yes"' 's/^\( *hostNetwork:\) true/\1 "yes"/' 'hostNetwork must be boolean'
expect_lint_failure 'a port as a string' 's/containerPort: 9437/containerPort: "9437"/' 'containerPort must be integer'
expect_lint_failure 'a misspelt field' 's/readOnlyRootFilesystem:/readOnlyRootFileSystem:/' \
  'unknown field "readOnlyRootFileSystem"'

# 3. The collector's configuration, as the ConfigMap and the unit's example carry it.
if node "$lint/collectconfig.mjs" manifest "$deploy/kubernetes/kscope.yaml" "$tmp/collect.yaml" \
    >"$tmp/cc" 2>&1; then
  ok "kscope.yaml: listen port, container port, annotation and memory limit agree with collect.yaml"
  if "$kscope" collect --check-config "$tmp/collect.yaml" >"$tmp/check" 2>&1; then
    ok "the ConfigMap's collect.yaml: $(cat "$tmp/check")"
  else
    fail "the ConfigMap's collect.yaml does not load:"
    cat "$tmp/check" >&2
  fi
  if yamllint -c "$lint/yamllint.yaml" -s -f parsable "$tmp/collect.yaml" >"$tmp/yl" 2>&1; then
    ok "yamllint: the ConfigMap's collect.yaml"
  else
    fail "yamllint: the ConfigMap's collect.yaml:"
    cat "$tmp/yl" >&2
  fi
else
  fail "kscope.yaml:"
  cat "$tmp/cc" >&2
fi
if "$kscope" collect --check-config "$deploy/systemd/collect.yaml" >"$tmp/check" 2>&1; then
  ok "deploy/systemd/collect.yaml: the configuration is valid"
else
  fail "deploy/systemd/collect.yaml does not load:"
  cat "$tmp/check" >&2
fi
if node "$lint/collectconfig.mjs" unit "$deploy/systemd/kscope.service" \
    "$deploy/systemd/collect.yaml" >"$tmp/cc" 2>&1; then
  ok "kscope.service: MemoryMax holds the limits of deploy/systemd/collect.yaml"
else
  fail "kscope.service:"
  cat "$tmp/cc" >&2
fi

# 4. The Prometheus configuration.
prom=$deploy/prometheus/prometheus.yml
if promtool check config "$prom" >"$tmp/promtool" 2>&1; then
  ok "promtool check config prometheus.yml"
elif grep -q 'field kubernetes_sd_configs not found' "$tmp/promtool"; then
  # Debian's build: check the discovery blocks here and the rest with promtool.
  if node "$lint/promsd.mjs" "$prom" "$tmp/prometheus.yml" >"$tmp/sd" 2>&1; then
    ok "$(cat "$tmp/sd")"
    if promtool check config "$tmp/prometheus.yml" >"$tmp/promtool" 2>&1; then
      ok "promtool check config prometheus.yml (kubernetes_sd_configs replaced: this promtool lacks them)"
    else
      fail "promtool check config prometheus.yml (kubernetes_sd_configs replaced):"
      cat "$tmp/promtool" >&2
    fi
  else
    fail "promsd.mjs:"
    cat "$tmp/sd" >&2
  fi
else
  fail "promtool check config $prom:"
  cat "$tmp/promtool" >&2
fi

# 5. The systemd unit: verify checks that ExecStart's binary exists, so point it at ours.
unit=$tmp/kscope.service
sed "s#/usr/local/sbin/kscope#$kscope#g" "$deploy/systemd/kscope.service" >"$unit"
grep -q "^ExecStart=$kscope collect -c /etc/kscope/collect.yaml$" "$unit" ||
  fail "kscope.service: ExecStart is not /usr/local/sbin/kscope collect -c /etc/kscope/collect.yaml"
rc=0
systemd-analyze verify --man=no "$unit" >"$tmp/verify.out" 2>"$tmp/verify" || rc=$?
# Lines about other units (the host's own) are not this test's business; show them.
if [[ $rc -ne 0 ]] || grep -qE "kscope\.service|$tmp" "$tmp/verify"; then
  fail "systemd-analyze verify kscope.service (exit $rc):"
  cat "$tmp/verify.out" "$tmp/verify" >&2
else
  ok "systemd-analyze verify kscope.service"
  [[ -s $tmp/verify ]] && { echo "note: systemd-analyze said about other units:"; cat "$tmp/verify"; }
fi
# systemd ignores capability names it does not know without a word: check them here.
known_caps=" $(setpriv --list-caps | tr '\n' ' ') "
bad_caps=()
for cap in $(sed -n 's/^CapabilityBoundingSet=//p; s/^AmbientCapabilities=//p' "$unit"); do
  name=${cap#\~}
  name=${name#CAP_}
  [[ $known_caps == *" ${name,,} "* ]] || bad_caps+=("$cap")
done
if [[ ${#bad_caps[@]} -eq 0 ]]; then
  ok "kscope.service: capability names"
else
  fail "kscope.service: unknown capabilities: ${bad_caps[*]}"
fi

# 6. The image: every library the binary loads comes from a package the Dockerfile installs
# (or from libc6/libgcc-s1, which debian:*-slim has: libc6 depends on libgcc-s1).
dockerfile=$deploy/Dockerfile
base_packages=" libc6 libgcc-s1 "
installed=" $(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$dockerfile" |
  sed -n 's/.*apt-get install\(.*\)/\1/p' | sed 's/&&.*//' | tr ' ' '\n' |
  grep -v '^-' | grep -v '^$' | tr '\n' ' ') "
if [[ $installed == "  " ]]; then
  fail "Dockerfile: no apt-get install line found"
fi
from=$(sed -n 's/^FROM \([^ ]*\).*/\1/p' "$dockerfile" | head -1)
codename=$(. /etc/os-release 2>/dev/null && echo "${ID:-}:${VERSION_CODENAME:-}")
if [[ $from != debian:${codename#debian:}-slim && $from != debian:${codename#debian:} ]]; then
  fail "Dockerfile: FROM $from, but $kscope was built on ${codename:-an unknown system}: its" \
    "libraries' sonames are that release's"
fi
# Which package owns a library: dpkg knows the path as packaged, /lib or /usr/lib.
owner() {
  local p candidates=("$1" "$(realpath "$1")")
  for p in "${candidates[@]}"; do
    candidates+=("${p/#\/usr\/lib\//\/lib\/}" "${p/#\/lib\//\/usr\/lib\/}"
                 "${p/#\/lib64\//\/usr\/lib64\/}")
  done
  for p in "${candidates[@]}"; do
    dpkg -S "$p" 2>/dev/null | grep -v '^diversion' | head -1 | cut -d: -f1 && return 0
  done
  return 1
}
missing=() libs=0
while read -r lib; do
  libs=$((libs + 1))
  pkg=$(owner "$lib") || { missing+=("$lib (no package owns it)"); continue; }
  [[ $base_packages == *" $pkg "* || $installed == *" $pkg "* ]] || missing+=("$lib ($pkg)")
done < <(ldd "$kscope" | sed -n 's/.*=> \(\/[^ ]*\) (.*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p')
if ldd "$kscope" | grep -q 'not found'; then
  fail "ldd $kscope: $(ldd "$kscope" | grep 'not found' | tr -d '\t' | tr '\n' ' ')"
elif [[ $libs -eq 0 ]]; then
  fail "ldd $kscope named no library"
elif [[ ${#missing[@]} -gt 0 ]]; then
  fail "Dockerfile: the image would lack ${missing[*]}: add the package to its apt-get install"
else
  ok "Dockerfile: the $libs libraries of $(basename "$kscope") come from its packages or the base"
fi

if [[ $failures -gt 0 ]]; then
  echo "FAIL: deploy lint: $failures failed, $checks passed" >&2
  exit 1
fi
echo "PASS: deploy lint: $checks checks"
