# Shared by the benchmarks that drive the real `pactum serve` (sourced, not run):
# starts it on a fresh data directory under $work and gives JSON helpers.
#   start_pactum           starts "$pactum" serve; sets $url and $server_pid
#   api METHOD PATH BODY [curl args]   JSON in, JSON out; fails on a non-2xx answer
#   json KEY               one key of the JSON on stdin
#   body TENANT EMAIL PASSWORD         a login body
#   login EMAIL PASSWORD   logs in with a cookie jar of its own ($work/jar-EMAIL); prints
#                          the CSRF token
#   ready EMAIL ONE_TIME_PASSWORD      replaces the one-time password; prints the new one

start_pactum() {
  "$pactum" serve --data "$work/data" --listen 127.0.0.1:0 --ready-file "$work/ready" \
    2>"$work/server.log" >/dev/null &
  server_pid=$!
  for _ in $(seq 300); do [ -s "$work/ready" ] && break; sleep 0.1; done
  url=$(cat "$work/ready")
}

api() {
  local method=$1 path=$2 body=$3
  shift 3
  curl -sSk --fail-with-body -X "$method" -H 'Content-Type: application/json' "$@" \
    --data "$body" "$url$path"
}
json() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
body() {
  python3 -c 'import json,sys; print(json.dumps({"tenant":sys.argv[1],"email":sys.argv[2],"password":sys.argv[3]}))' "$@"
}
login() {
  api POST /api/v1/auth/login "$(body default "$1" "$2")" -c "$work/jar-$1" | json csrf_token
}
ready() {
  local csrf password
  password="bench-$(openssl rand -hex 12)"
  csrf=$(login "$1" "$2")
  api POST /api/v1/me/password "{\"current\":\"$2\",\"new\":\"$password\"}" \
    -b "$work/jar-$1" -H "X-CSRF-Token: $csrf" >/dev/null
  echo "$password"
}
