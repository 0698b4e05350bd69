# Shared by the project's scripts: install what is missing, and run a throwaway
# PostgreSQL on a free loopback port.

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# ensure_apt PACKAGE... : installs the Debian packages that are not installed yet.
ensure_apt() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# ensure_build_deps: what compiling the workspace needs from the system. The bundled
# SQLCipher (rusqlite's bundled-sqlcipher, for the phone's encrypted store) links the
# system's libcrypto: Debian's libssl-dev. libjpeg-turbo (mozjpeg-sys, the core's JPEG
# codec) assembles its x86 SIMD with nasm; without it the build falls back to plain C.
# Nothing to do off Debian (macOS uses CommonCrypto; Android builds OpenSSL in).
ensure_build_deps() {
  command -v dpkg-query >/dev/null || return 0
  ensure_apt libssl-dev nasm
}

# build_server: the debug server binary the scripts start. Under scripts/test the
# workspace is built once, with the feature set of its tests, and PATROL_PREBUILT=1 says
# so: building again here with `-p` would compile the dependencies a second time with
# other features (twice the disk and the time).
build_server() {
  [ -n "${PATROL_PREBUILT:-}" ] && return 0
  ensure_build_deps
  cargo build -q -p patrol-server --bin patrol-server
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# make_test_tls DIR: a throwaway CA (DIR/ca.pem) and a certificate it signed for
# 127.0.0.1 and localhost (DIR/server.pem, DIR/server.key), valid for a week.
make_test_tls() {
  local tls=$1
  mkdir -p "$tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 -subj "/CN=patrol test CA" \
    -keyout "$tls/ca.key" -out "$tls/ca.pem" >/dev/null 2>&1
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$tls/server.key" -out "$tls/server.csr" >/dev/null 2>&1
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' >"$tls/ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 7 \
    -extfile "$tls/ext" -out "$tls/server.pem" >/dev/null 2>&1
}

# start_postgres: initialises a cluster under a temporary directory, starts it on a
# free loopback port, and exports PATROL_TEST_POSTGRES_URL. stop_postgres ends it.
# The server also takes TLS, with a certificate for 127.0.0.1 from a throwaway CA made
# here (PATROL_TEST_POSTGRES_CA names the CA's certificate); the URL asks for no TLS,
# so the suites run as before and the TLS test asks for it itself.
# PG_FSYNC=on makes commits durable as in production (the benchmarks set it); the test
# suites run without fsync, which changes no answer and saves minutes. PG_OPTIONS adds
# settings of the caller's (`-c name=value …`).
start_postgres() {
  ensure_apt postgresql openssl
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
  PG_DIR=$(mktemp -d /tmp/patrol-pg.XXXXXX)
  PG_PORT=$(free_port)
  local run=()
  if [ "$(id -u)" -eq 0 ]; then
    # PostgreSQL refuses to run as root.
    chown postgres "$PG_DIR"
    run=(runuser -u postgres --)
  fi
  "${run[@]}" "$bin/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 \
    || { cat "$PG_DIR/initdb.log"; return 1; }
  local tls="$PG_DIR/tls"
  make_test_tls "$tls"
  chmod 600 "$tls/server.key"
  [ "$(id -u)" -eq 0 ] && chown -R postgres "$tls"
  "${run[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=${PG_FSYNC:-off} ${PG_OPTIONS:-} -c max_connections=300 -c random_page_cost=1.1 -c ssl=on -c ssl_cert_file=$tls/server.pem -c ssl_key_file=$tls/server.key" start >/dev/null \
    || { cat "$PG_DIR/server.log"; return 1; }
  export PATROL_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
  export PATROL_TEST_POSTGRES_CA="$tls/ca.pem"
  PG_STOP=("${run[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -m immediate stop)
  log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT"
}

stop_postgres() {
  if [ -n "${PG_DIR:-}" ]; then
    "${PG_STOP[@]}" >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
    PG_DIR=""
  fi
}

# start_smtp: a throwaway SMTP relay (aiosmtpd, from PyPI, scripts/lib/smtp-relay.py) on
# two free loopback ports, STARTTLS required on one and implicit TLS on the other,
# with a certificate for 127.0.0.1 from a throwaway CA and a random password. Exports
# PATROL_TEST_SMTP_{STARTTLS,TLS} (host:port), _CA, _LOGIN, _PASSWORD and _MAILDIR.
start_smtp() {
  ensure_apt openssl python3
  if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
    python3 -m pip --version >/dev/null 2>&1 || ensure_apt python3-pip
    python3 -m pip install --quiet aiosmtpd 2>/dev/null \
      || python3 -m pip install --quiet --break-system-packages aiosmtpd
  fi
  SMTP_DIR=$(mktemp -d /tmp/patrol-smtp.XXXXXX)
  local tls="$SMTP_DIR/tls"
  make_test_tls "$tls"
  local password
  password=$(openssl rand -hex 12)
  python3 scripts/lib/smtp-relay.py "$tls/server.pem" "$tls/server.key" "$SMTP_DIR/mail" patrol "$password" \
    "$(free_port)" "$(free_port)" \
    >"$SMTP_DIR/ports" 2>"$SMTP_DIR/log" &
  SMTP_PID=$!
  for _ in $(seq 1 100); do
    grep -q '^ready' "$SMTP_DIR/ports" 2>/dev/null && break
    sleep 0.1
  done
  grep -q '^ready' "$SMTP_DIR/ports" || { cat "$SMTP_DIR/log"; return 1; }
  read -r _ starttls implicit <"$SMTP_DIR/ports"
  export PATROL_TEST_SMTP_STARTTLS="127.0.0.1:$starttls" PATROL_TEST_SMTP_TLS="127.0.0.1:$implicit"
  export PATROL_TEST_SMTP_CA="$tls/ca.pem" PATROL_TEST_SMTP_LOGIN=patrol PATROL_TEST_SMTP_PASSWORD="$password"
  export PATROL_TEST_SMTP_MAILDIR="$SMTP_DIR/mail"
  log "SMTP relay (aiosmtpd) on 127.0.0.1:$starttls (STARTTLS) and :$implicit (TLS)"
}

stop_smtp() {
  if [ -n "${SMTP_PID:-}" ]; then
    kill "$SMTP_PID" 2>/dev/null || true
    wait "$SMTP_PID" 2>/dev/null || true
    rm -rf "$SMTP_DIR"
    SMTP_PID=""
  fi
}

# start_s3: a local S3-compatible server (moto, from PyPI) on a free loopback port for
# the object-store suites; exports PATROL_TEST_S3_ENDPOINT. stop_s3 ends it.
start_s3() {
  if ! command -v moto_server >/dev/null; then
    # A stock Debian Python refuses pip into the system (PEP 668) and may lack pip.
    python3 -m pip --version >/dev/null 2>&1 || ensure_apt python3-pip
    python3 -m pip install --quiet "moto[server]" 2>/dev/null \
      || python3 -m pip install --quiet --break-system-packages "moto[server]"
  fi
  S3_PORT=$(free_port)
  S3_LOG=$(mktemp /tmp/patrol-s3.XXXXXX)
  moto_server -H 127.0.0.1 -p "$S3_PORT" >"$S3_LOG" 2>&1 &
  S3_PID=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$S3_PORT/" >/dev/null 2>&1 && break
    sleep 0.2
  done
  export PATROL_TEST_S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
  log "S3 (moto) on 127.0.0.1:$S3_PORT"
}

stop_s3() {
  if [ -n "${S3_PID:-}" ]; then
    kill "$S3_PID" 2>/dev/null || true
    rm -f "$S3_LOG"
    S3_PID=""
  fi
}
