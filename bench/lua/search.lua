-- GET /api/profiles?search=W, W at random among a few words of the seeded data.
-- Arguments: the words, comma-separated (plain letters, no escaping needed).
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local report = require("report")
setup, done = report.setup, report.done

local words = {}

function init(args)
  for w in string.gmatch(args[1] or "", "[^,]+") do words[#words + 1] = w end
  assert(#words > 0, "usage: search.lua WORD[,WORD...]")
  report.seed()
end

function request()
  return wrk.format("GET", "/api/profiles?search=" .. words[math.random(#words)])
end
