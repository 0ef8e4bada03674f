-- post_staff.lua — wrk: POST /api/v1/staff with a valid staff member of BENCH_ORG (env), or of the
-- organizations of BENCH_ORGS (comma list) in turn; the last name varies per request so that every
-- answer is a new entity. Reporting from wrk_report.lua.
dofile(os.getenv("BENCH_DIR") .. "/wrk_report.lua")

local orgs = {}
for id in string.gmatch(os.getenv("BENCH_ORGS") or os.getenv("BENCH_ORG"), "[^,]+") do orgs[#orgs + 1] = id end
local n = 0
local template = '{"lastName":"Тхагапсоев%d","firstName":"Мурат","middleName":"Асланович",' ..
   '"birthDate":"1984-05-17","professionStartDate":"2006-09-01","position":"teacher",' ..
   '"category":"teacher","subjects":["mathematics","informatics"],"organizationIds":["%s"],' ..
   '"qualificationCategory":"first","active":true}'
function request()
   n = n + 1
   local headers = bench_auth({ ["Content-Type"] = "application/json" })
   return wrk.format("POST", "/api/v1/staff", headers, string.format(template, n, orgs[n % #orgs + 1]))
end
