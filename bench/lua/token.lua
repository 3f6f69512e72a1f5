-- POST /api/users/token: logins of seeded users, cycling through their names.
-- Arguments: a file of usernames (first word of each line) and the password
-- (plain characters, no JSON escaping needed).
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local report = require("report")
setup, done = report.setup, report.done

local users, password = {}, nil
local next_user = 0

function init(args)
  for _, line in ipairs(report.lines(args[1])) do
    users[#users + 1] = line:match("^(%S+)")
  end
  password = assert(args[2], "usage: token.lua USERS_FILE PASSWORD")
  report.seed()
  next_user = math.random(#users) - 1
end

function request()
  next_user = next_user % #users + 1
  local body = '{"username":"' .. users[next_user] .. '","password":"' .. password .. '"}'
  return wrk.format("POST", "/api/users/token", { ["Content-Type"] = "application/json" }, body)
end
