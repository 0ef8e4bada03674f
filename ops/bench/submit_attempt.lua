-- submit_attempt.lua — wrk: each request submits one teacher's 40-item attempt
-- (POST /api/v1/diagnostics/attempts/{id}/submit). Attempt ids come from BENCH_IDS (a file, one a
-- line); thread k of BENCH_THREADS takes ids k, k+T, k+2T, … and stops after its share of 2xx answers
-- (BENCH_LIMIT, set by the caller); answers vary per teacher so scores differ. Reporting from
-- wrk_report.lua.
dofile(os.getenv("BENCH_DIR") .. "/wrk_report.lua")

local next_thread = 0
local base_setup = setup
function setup(thread)
   base_setup(thread)
   thread:set("index", next_thread)
   next_thread = next_thread + 1
end

local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do
   table.insert(ids, line)
end
local threads = tonumber(os.getenv("BENCH_THREADS") or "2")
local n = 0

local function body(t)
   local parts = {}
   for q = 1, 40 do
      local k = (q - 1) % 4
      local c = math.floor((q - 1) / 4)
      local a
      if k < 2 then
         a = string.format('{"itemId":"q%d","optionIds":["%s"]}', q, ({ "a", "b", "c" })[(t + q) % 3 + 1])
      elseif k == 2 then
         a = string.format('{"itemId":"q%d","optionIds":["a"%s]}', q, (t + q) % 2 == 0 and ',"b"' or ',"c"')
      elseif c % 2 == 0 then
         a = string.format('{"itemId":"q%d","value":%d}', q, (t + q) % 5 + 1)
      else
         a = string.format('{"itemId":"q%d","value":%s}', q, (t + q) % 2 == 0 and "3.5" or "4")
      end
      parts[#parts + 1] = a
   end
   return '{"answers":[' .. table.concat(parts, ",") .. ']}'
end

function request()
   -- after its share, a thread repeats its first ids: a second submit changes nothing (the thread
   -- stops at BENCH_LIMIT 2xx answers, so repeats are only the requests still in flight)
   local i = (index + n * threads) % #ids + 1
   n = n + 1
   local headers = bench_auth({ ["Content-Type"] = "application/json" })
   return wrk.format("POST", "/api/v1/diagnostics/attempts/" .. ids[i] .. "/submit", headers, body(i))
end
