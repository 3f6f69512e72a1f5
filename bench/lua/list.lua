-- GET /api/projects?page=N, N uniformly among the valid pages.
-- Arguments: the number of pages.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local report = require("report")
setup, done = report.setup, report.done

local pages

function init(args)
  pages = assert(tonumber(args[1]), "usage: list.lua PAGES")
  report.seed()
end

function request()
  return wrk.format("GET", "/api/projects?page=" .. math.random(pages))
end
