-- Mixed load for scripts/soak.sh (wrk): reads (project list, project detail,
-- profile search), logins, votes and messages, drawn at random by weight.
--
-- Every response is logged, one line each, with its kind and status, and for
-- writes what they wrote, so that soak.sh can count the statuses and compare
-- the successful writes with the rows in the database. wrk does not tell which
-- connection a response belongs to, so soak.sh runs one connection per thread:
-- request() and response() then strictly alternate and the request in flight
-- is simply the last one generated.
--
-- Arguments: DATA_DIR PAGES PASSWORD WORDS OUT_DIR
--   DATA_DIR/tokens.txt    "access_token profile_id" per line
--   DATA_DIR/projects.txt  "project_id owner_profile_id" per line ("-": no
--                          owner): the projects read
--   DATA_DIR/vote_projects.txt  the same, for the projects voted on
--   DATA_DIR/users.txt     "username profile_id" per line
--   PAGES                  pages of the project list (page size 20)
--   PASSWORD               the seeded users' password (plain characters)
--   WORDS                  search words, comma-separated
--   OUT_DIR                where OUT_DIR/responses-THREAD.txt go
-- The log's lines: "list|detail|search STATUS", "vote STATUS VOTER PROJECT TAG",
-- "message STATUS TAG", "login STATUS USERNAME"; a TAG is unique over the run.
-- (Each thread has its own file: wrk's thread:get cannot carry tables back.)

-- Percent of requests of each kind; logins are few because each costs an
-- argon2id hash (tens of milliseconds of a core and 19 MiB).
local MIX = {
  { "list", 30 }, { "detail", 25 }, { "search", 15 },
  { "vote", 15 }, { "message", 13 }, { "login", 2 },
}

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

local function lines(path)
  local out = {}
  for line in io.lines(path) do
    if line ~= "" then out[#out + 1] = line end
  end
  assert(#out > 0, "no lines in " .. path)
  return out
end

local tokens, token_owner, projects = {}, {}, {}
local voted, voted_owner = {}, {}
local usernames, profiles, words = {}, {}, {}
local pages, password, responses
local serial = 0
local in_flight -- { kind = ..., log = "..." or nil }

function init(args)
  local dir = assert(args[1], "usage: mixed.lua DATA_DIR PAGES PASSWORD WORDS OUT_DIR")
  for _, line in ipairs(lines(dir .. "/tokens.txt")) do
    local token, profile = line:match("^(%S+)%s+(%S+)")
    tokens[#tokens + 1], token_owner[#token_owner + 1] = token, profile
  end
  for _, line in ipairs(lines(dir .. "/projects.txt")) do
    projects[#projects + 1] = line:match("^(%S+)")
  end
  for _, line in ipairs(lines(dir .. "/vote_projects.txt")) do
    local id, owner = line:match("^(%S+)%s+(%S+)")
    voted[#voted + 1], voted_owner[#voted_owner + 1] = id, owner
  end
  for _, line in ipairs(lines(dir .. "/users.txt")) do
    local name, profile = line:match("^(%S+)%s+(%S+)")
    usernames[#usernames + 1], profiles[#profiles + 1] = name, profile
  end
  pages = assert(tonumber(args[2]), "PAGES must be a number")
  password = assert(args[3], "PASSWORD missing")
  for w in assert(args[4], "WORDS missing"):gmatch("[^,]+") do words[#words + 1] = w end
  responses = assert(io.open(assert(args[5], "OUT_DIR missing") .. "/responses-" .. thread_id .. ".txt", "w"))
  -- Line-buffered: complete even if wrk stops the thread without closing it.
  responses:setvbuf("line")
  math.randomseed(os.time() * 1000 + thread_id * 7919)
  for _ = 1, 10 do math.random() end
end

local function pick_kind()
  local r = math.random(100)
  for _, m in ipairs(MIX) do
    if r <= m[2] then return m[1] end
    r = r - m[2]
  end
  return MIX[1][1]
end

-- A tag unique over the run: thread number and a per-thread serial.
local function next_tag()
  serial = serial + 1
  return "soak-" .. thread_id .. "-" .. serial
end

local json_headers = { ["Content-Type"] = "application/json" }

local function auth_headers(i)
  return { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. tokens[i] }
end

local function vote()
  local i = math.random(#tokens)
  local j = math.random(#voted)
  -- Skip the voter's own projects (that would be 403); bounded by the list.
  for _ = 1, #voted do
    if voted_owner[j] ~= token_owner[i] then break end
    j = j % #voted + 1
  end
  local tag = next_tag()
  local value = math.random(3) == 3 and "down" or "up"
  in_flight = { kind = "vote", log = token_owner[i] .. " " .. voted[j] .. " " .. tag }
  return wrk.format("POST", "/api/projects/" .. voted[j] .. "/vote", auth_headers(i),
    '{"value":"' .. value .. '","body":"' .. tag .. '"}')
end

-- Half from logged-in users (never to themselves), half anonymous.
local function message()
  local tag = next_tag()
  local r = math.random(#profiles)
  in_flight = { kind = "message", log = tag }
  if math.random(2) == 1 then
    local i = math.random(#tokens)
    if profiles[r] == token_owner[i] then r = r % #profiles + 1 end
    return wrk.format("POST", "/api/profiles/" .. profiles[r] .. "/messages", auth_headers(i),
      '{"subject":"' .. tag .. '","body":"soak load"}')
  end
  return wrk.format("POST", "/api/profiles/" .. profiles[r] .. "/messages", json_headers,
    '{"subject":"' .. tag .. '","body":"soak load","name":"Soak","email":"soak@example.com"}')
end

local function login()
  local name = usernames[math.random(#usernames)]
  in_flight = { kind = "login", log = name }
  return wrk.format("POST", "/api/users/token", json_headers,
    '{"username":"' .. name .. '","password":"' .. password .. '"}')
end

function request()
  local kind = pick_kind()
  if kind == "vote" then return vote() end
  if kind == "message" then return message() end
  if kind == "login" then return login() end
  in_flight = { kind = kind }
  if kind == "list" then
    return wrk.format("GET", "/api/projects?page=" .. math.random(pages))
  elseif kind == "detail" then
    return wrk.format("GET", "/api/projects/" .. projects[math.random(#projects)])
  end
  return wrk.format("GET", "/api/profiles?search=" .. words[math.random(#words)])
end

function response(status, headers, body)
  local f = in_flight or { kind = "unknown" }
  in_flight = nil
  if f.log then
    responses:write(f.kind, " ", status, " ", f.log, "\n")
  else
    responses:write(f.kind, " ", status, "\n")
  end
end

-- In wrk's main state: wrk's own summary as one JSON line ("SOAK_JSON {...}")
-- that soak.sh parses. Times in microseconds.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'SOAK_JSON {"requests":%d,"duration_us":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%.0f,"p90":%.0f,"p99":%.0f,"max":%.0f}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
