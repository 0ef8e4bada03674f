-- wrk_report.lua — shared by the wrk runs of bench.sh: counts 2xx answers per thread and prints one
-- machine-readable RESULT line (requests/s of 2xx answers, p99 latency in µs, non-2xx and socket
-- errors). BENCH_LIMIT (env) stops each thread after that many 2xx answers.
local threads = {}
local limit = tonumber(os.getenv("BENCH_LIMIT") or "0")

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   ok = 0
end

function response(status, headers, body)
   if status >= 200 and status < 300 then
      ok = ok + 1
      if limit > 0 and ok >= limit then
         wrk.thread:stop()
      end
   end
end

function done(summary, latency, requests)
   local total_ok = 0
   for _, t in ipairs(threads) do
      total_ok = total_ok + (t:get("ok") or 0)
   end
   local e = summary.errors
   local seconds = summary.duration / 1e6
   io.write(string.format("RESULT ok=%d rps=%.1f p50_us=%d p99_us=%d non2xx=%d socket_errors=%d\n",
      total_ok, total_ok / seconds, latency:percentile(50), latency:percentile(99), e.status,
      e.connect + e.read + e.write + e.timeout))
end
