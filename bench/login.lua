-- wrk script for scripts/bench-login: every request is a login, cycling through the JSON
-- bodies in the file named by BENCH_LOGINS (one per line, one per account).
local bodies = {}
for line in io.lines(os.getenv("BENCH_LOGINS")) do
  bodies[#bodies + 1] = line
end
local next_body = 0

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
  next_body = next_body % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[next_body])
end
