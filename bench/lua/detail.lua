-- GET /api/projects/{id}, id at random from a file of project ids.
-- Arguments: a file with one "project_id owner_profile_id" per line.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local report = require("report")
setup, done = report.setup, report.done

local ids = {}

function init(args)
  for _, line in ipairs(report.lines(args[1])) do
    ids[#ids + 1] = line:match("^(%S+)")
  end
  report.seed()
end

function request()
  return wrk.format("GET", "/api/projects/" .. ids[math.random(#ids)])
end
