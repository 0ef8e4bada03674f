-- get_staff.lua — wrk: GET /api/v1/staff/<BENCH_STAFF> (env). Reporting from wrk_report.lua.
dofile(os.getenv("BENCH_DIR") .. "/wrk_report.lua")
local path = "/api/v1/staff/" .. os.getenv("BENCH_STAFF")
function request()
   return wrk.format("GET", path, bench_auth({}))
end
