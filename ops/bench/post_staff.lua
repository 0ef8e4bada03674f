-- post_staff.lua — wrk: POST /api/v1/staff with a valid staff member of BENCH_ORG (env); the last
-- name varies per request so that every answer is a new entity. Reporting from wrk_report.lua.
dofile(os.getenv("BENCH_DIR") .. "/wrk_report.lua")

local org = os.getenv("BENCH_ORG")
local n = 0
local template = '{"lastName":"Тхагапсоев%d","firstName":"Мурат","middleName":"Асланович",' ..
   '"birthDate":"1984-05-17","professionStartDate":"2006-09-01","position":"teacher",' ..
   '"category":"teacher","subjects":["mathematics","informatics"],"organizationIds":["' .. org .. '"],' ..
   '"qualificationCategory":"first","active":true}'
function request()
   n = n + 1
   local headers = bench_auth({ ["Content-Type"] = "application/json" })
   return wrk.format("POST", "/api/v1/staff", headers, string.format(template, n))
end
