-- GET /api/users/me with one bearer token, the same request every time.
-- Arguments: a file whose first line starts with the access token.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local report = require("report")
setup, done = report.setup, report.done

local req

function init(args)
  local token = report.lines(args[1])[1]:match("^(%S+)")
  req = wrk.format("GET", "/api/users/me", { ["Authorization"] = "Bearer " .. token })
end

function request()
  return req
end
