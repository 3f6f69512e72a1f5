-- The same request every time (the URL's path): the HTTP ceiling. Only the
-- report of report.lua is added.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local report = require("report")
setup, done = report.setup, report.done
