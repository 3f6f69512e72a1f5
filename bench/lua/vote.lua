-- POST /api/projects/{id}/vote from many users: each request takes the next
-- token (cycling) and a random project that the token's user does not own.
-- Arguments: a file of "access_token profile_id" lines and a file of
-- "project_id owner_profile_id" lines.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local report = require("report")
setup, done = report.setup, report.done

local tokens, voters, projects, owners = {}, {}, {}, {}
local next_token = 0
local values = { "up", "up", "down" }

function init(args)
  for _, line in ipairs(report.lines(args[1])) do
    local token, profile = line:match("^(%S+)%s+(%S+)")
    tokens[#tokens + 1], voters[#voters + 1] = token, profile
  end
  for _, line in ipairs(report.lines(args[2])) do
    local id, owner = line:match("^(%S+)%s+(%S+)")
    projects[#projects + 1], owners[#owners + 1] = id, owner
  end
  report.seed()
  -- Threads start at different places in the token list.
  next_token = math.random(#tokens) - 1
end

function request()
  next_token = next_token % #tokens + 1
  local voter = voters[next_token]
  local j = math.random(#projects)
  -- Skip the voter's own projects (voting on them is 403); bounded by the list.
  for _ = 1, #projects do
    if owners[j] ~= voter then break end
    j = j % #projects + 1
  end
  local body = '{"value":"' .. values[math.random(#values)] .. '","body":"wrk"}'
  return wrk.format("POST", "/api/projects/" .. projects[j] .. "/vote", {
    ["Authorization"] = "Bearer " .. tokens[next_token],
    ["Content-Type"] = "application/json",
  }, body)
end
