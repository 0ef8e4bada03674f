-- wrk_report.lua — shared by the wrk runs of bench.sh: counts 2xx answers per thread and prints one
-- machine-readable RESULT line (requests/s of 2xx answers, p99 latency in µs, non-2xx and socket
-- errors). BENCH_LIMIT (env) stops each thread after that many 2xx answers.
local threads = {}
local limit = tonumber(os.getenv("BENCH_LIMIT") or "0")

-- Session tokens (BENCH_TOKENS, comma-separated), used in turn: each session has its own request
-- budget at the gateway.
bench_tokens = {}
for t in string.gmatch(os.getenv("BENCH_TOKENS") or "", "[^,]+") do
   table.insert(bench_tokens, t)
end
local turn = 0
function bench_auth(headers)
   if #bench_tokens > 0 then
      turn = turn % #bench_tokens + 1
      headers["Authorization"] = "Bearer " .. bench_tokens[turn]
   end
   return headers
end

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   ok = 0
   throttled = 0
end

function response(status, headers, body)
   if status >= 200 and status < 300 then
      ok = ok + 1
      if limit > 0 and ok >= limit then
         wrk.thread:stop()
      end
   elseif status == 429 then
      throttled = throttled + 1
   end
end

function done(summary, latency, requests)
   local total_ok, total_429 = 0, 0
   for _, t in ipairs(threads) do
      total_ok = total_ok + (t:get("ok") or 0)
      total_429 = total_429 + (t:get("throttled") or 0)
   end
   local e = summary.errors
   local seconds = summary.duration / 1e6
   io.write(string.format("RESULT ok=%d rps=%.1f p50_us=%d p99_us=%d non2xx=%d throttled=%d socket_errors=%d\n",
      total_ok, total_ok / seconds, latency:percentile(50), latency:percentile(99), e.status, total_429,
      e.connect + e.read + e.write + e.timeout))
end
