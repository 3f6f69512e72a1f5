-- Shared by every wrk script of bench/: numbers each thread (for its random
-- seed) and prints wrk's summary as one JSON line that bench/run.sh parses.
-- Loaded with require("report"); bench/run.sh sets BENCH_LUA_DIR.
local M = {}

local threads = 0

-- setup(thread), in wrk's main state: give every thread its number.
function M.setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

-- A per-thread random seed; call from init().
function M.seed()
  math.randomseed(os.time() * 1000 + (thread_id or 0) * 7919)
  for _ = 1, 10 do math.random() end
end

-- The lines of a file, without empty ones; fails loudly when it has none.
function M.lines(path)
  local out = {}
  for line in io.lines(path) do
    if line ~= "" then out[#out + 1] = line end
  end
  assert(#out > 0, "no lines in " .. path)
  return out
end

-- done(summary, latency, requests), in wrk's main state. Times in microseconds.
-- errors.status is wrk's count of responses with a status of 400 or more.
function M.done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%.0f,"mean":%.1f,"stdev":%.1f,"p50":%.0f,"p90":%.0f,"p99":%.0f,"max":%.0f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.stdev,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end

return M
