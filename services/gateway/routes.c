/* routes — the route table and the generic HTTP → protobuf request mapping (see routes.h).
 * Invariant: every row names an rpc of its service's proto descriptor, and that rpc's types carry
 * the fields the row's flags rely on (id for "{id}", expected_version for ROUTE_IF_MATCH, update_mask
 * for ROUTE_MASK, body_field a message field); test_gateway_routes checks this for the whole table,
 * and the gateway refuses to start otherwise (routes_check). */
#include "routes.h"

#include <ctype.h>
#include <pthread.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "envelope.pb-c.h"
#include "pbjson.h"
#include "xalloc.h"
#include "auth.pb-c.h"
#include "registry.pb-c.h"
#include "diagnostics.pb-c.h"
#include "auth_service.pb-c.h"
#include "diagnostics_service.pb-c.h"
#include "events.pb-c.h"
#include "events_service.pb-c.h"
#include "mentoring.pb-c.h"
#include "mentoring_service.pb-c.h"
#include "indicators.pb-c.h"
#include "indicators_service.pb-c.h"
#include "monitoring.pb-c.h"
#include "monitoring_service.pb-c.h"
#include "registry_service.pb-c.h"
#include "notify_service.pb-c.h"
#include "utf8.h"
#include "validate.h"

/* One row: the MDP service and rpc, then what differs from the defaults (no body field, 200, no
 * flags, the gateway's body limit and deadline) as designated initializers. The rpc's request and
 * response types are the service's (proto/<service>_service.proto), never restated here. */
#define ROUTE(svc, verb, path, rpc_name, ...)                                                                          \
    {                                                                                                                  \
        .method = verb, .path_template = path, .service = svc, .rpc = rpc_name, __VA_ARGS__                            \
    }

/* The five rows of a registry kind: create, list, get, update, delete. */
#define CRUD(plural, single_rpc, list_rpc, field, what_gen, what_acc)                                                  \
    {.method = "POST",                                                                                                 \
     .path_template = "/api/v1/" plural,                                                                               \
     .service = "registry",                                                                                            \
     .rpc = "Create" single_rpc,                                                                                       \
     .body_field = field,                                                                                              \
     .success_status = 201,                                                                                            \
     .flags = ROUTE_BODY | ROUTE_MASK | ROUTE_CREATE,                                                                  \
     .summary = "Создать " what_acc},                                                                                  \
        {.method = "GET",                                                                                              \
         .path_template = "/api/v1/" plural,                                                                           \
         .service = "registry",                                                                                        \
         .rpc = "List" list_rpc,                                                                                       \
         .flags = ROUTE_QUERY,                                                                                         \
         .summary = "Список: " what_gen},                                                                              \
        {.method = "GET",                                                                                              \
         .path_template = "/api/v1/" plural "/{id}",                                                                   \
         .service = "registry",                                                                                        \
         .rpc = "Get" single_rpc,                                                                                      \
         .summary = "Получить " what_acc " по идентификатору"},                                                        \
        {.method = "PATCH",                                                                                            \
         .path_template = "/api/v1/" plural "/{id}",                                                                   \
         .service = "registry",                                                                                        \
         .rpc = "Update" single_rpc,                                                                                   \
         .body_field = field,                                                                                          \
         .flags = ROUTE_BODY | ROUTE_MASK | ROUTE_IF_MATCH,                                                            \
         .summary = "Изменить " what_acc " (только переданные поля)"},                                                 \
    {                                                                                                                  \
        .method = "DELETE", .path_template = "/api/v1/" plural "/{id}", .service = "registry",                         \
        .rpc = "Delete" single_rpc, .flags = ROUTE_IF_MATCH, .summary = "Удалить " what_acc                            \
    }

#define IMPORT_MAX_BODY   (32u * 1024 * 1024)
#define IMPORT_TIMEOUT_MS 300000u
#define EXPORT_TIMEOUT_MS 120000u

/* GET /api/v1/export/<plural>: the list's query parameters, a CSV file for Excel */
#define EXPORT_ROUTE(plural, rpc_name, what)                                                                           \
    {                                                                                                                  \
        .method = "GET", .path_template = "/api/v1/export/" plural, .service = "registry", .rpc = rpc_name,            \
        .flags = ROUTE_QUERY | ROUTE_CSV_OUT, .summary = what, .timeout_ms = EXPORT_TIMEOUT_MS                         \
    }

/* GET /api/v1/export/<plural> of the events service */
#define EVENTS_EXPORT_ROUTE(plural, rpc_name, what)                                                                    \
    {                                                                                                                  \
        .method = "GET", .path_template = "/api/v1/export/" plural, .service = "events", .rpc = rpc_name,              \
        .flags = ROUTE_QUERY | ROUTE_CSV_OUT, .summary = what, .timeout_ms = EXPORT_TIMEOUT_MS                         \
    }

static const route s_routes[] = {
    ROUTE("auth", "POST", "/api/v1/auth/login", "Login", .flags = ROUTE_BODY | ROUTE_PUBLIC | ROUTE_SECRET,
          .summary = "Вход: логин и пароль → токен сеанса (30 мин без действий, не более 8 ч)"),
    ROUTE("auth", "POST", "/api/v1/auth/logout", "Logout", .flags = ROUTE_TOKEN,
          .summary = "Выход: токен сеанса перестаёт действовать"),
    ROUTE("auth", "GET", "/api/v1/me", "Me", .summary = "Текущий пользователь"),
    ROUTE("auth", "POST", "/api/v1/users", "CreateUser", .success_status = 201,
          .flags = ROUTE_BODY | ROUTE_CREATE | ROUTE_SECRET,
          .summary = "Создать пользователя в своей области и с ролью ниже своей"),
    ROUTE("auth", "GET", "/api/v1/users", "ListUsers", .flags = ROUTE_QUERY,
          .summary = "Список пользователей своей области"),
    ROUTE("auth", "GET", "/api/v1/users/{id}", "GetUser", .summary = "Пользователь по идентификатору"),
    ROUTE("auth", "POST", "/api/v1/users/{id}/status", "SetUserDisabled", .flags = ROUTE_BODY,
          .summary = "Отключить или снова включить пользователя ({\"disabled\":true})"),
    ROUTE("auth", "POST", "/api/v1/users/{id}/password", "ResetPassword", .flags = ROUTE_BODY | ROUTE_SECRET,
          .summary = "Задать пользователю новый пароль"),
    ROUTE("auth", "POST", "/api/v1/api-keys", "CreateApiKey", .success_status = 201, .flags = ROUTE_BODY | ROUTE_SECRET,
          .summary = "Выдать API-ключ школьной информационной системе (показывается один раз)"),
    ROUTE("auth", "GET", "/api/v1/api-keys", "ListApiKeys", .flags = ROUTE_QUERY,
          .summary = "Список API-ключей своей области"),
    ROUTE("auth", "DELETE", "/api/v1/api-keys/{id}", "RevokeApiKey", .summary = "Отозвать API-ключ"),
    ROUTE("auth", "GET", "/api/v1/audit", "ListAudit", .flags = ROUTE_QUERY,
          .summary = "Журнал аудита (администратор региона): кто, что и когда читал и менял"),
    CRUD("regions", "Region", "Regions", "region", "регионы", "регион"),
    CRUD("municipalities", "Municipality", "Municipalities", "municipality", "муниципальные образования",
         "муниципальное образование"),
    CRUD("organizations", "Organization", "Organizations", "organization", "образовательные организации",
         "образовательную организацию"),
    CRUD("staff", "Staff", "Staff", "staff", "педагогические и управленческие кадры", "сотрудника"),
    ROUTE("diagnostics", "GET", "/api/v1/competences", "ListFrameworks", .flags = ROUTE_QUERY,
          .summary = "Рамки компетенций региона: педагогов и руководителей"),
    ROUTE("diagnostics", "GET", "/api/v1/competences/{id}", "GetFramework",
          .summary = "Рамка компетенций («07-teacher», «07-manager»)"),
    ROUTE("diagnostics", "PATCH", "/api/v1/competences/{id}", "UpdateFramework", .body_field = "framework",
          .flags = ROUTE_BODY | ROUTE_MASK | ROUTE_IF_MATCH,
          .summary = "Изменить рамку компетенций (администратор региона); версия растёт"),
    ROUTE("diagnostics", "POST", "/api/v1/instruments", "CreateInstrument", .body_field = "instrument",
          .success_status = 201, .flags = ROUTE_BODY | ROUTE_MASK | ROUTE_CREATE,
          .summary = "Создать диагностический инструмент"),
    ROUTE("diagnostics", "GET", "/api/v1/instruments", "ListInstruments", .flags = ROUTE_QUERY,
          .summary = "Список диагностических инструментов"),
    ROUTE("diagnostics", "GET", "/api/v1/instruments/{id}", "GetInstrument",
          .summary = "Диагностический инструмент (без ключей оценивания для проходящих диагностику)"),
    ROUTE("diagnostics", "PATCH", "/api/v1/instruments/{id}", "UpdateInstrument", .body_field = "instrument",
          .flags = ROUTE_BODY | ROUTE_MASK | ROUTE_IF_MATCH,
          .summary = "Изменить инструмент (задания нельзя менять, пока идёт открытая кампания)"),
    ROUTE("diagnostics", "POST", "/api/v1/diagnostics/campaigns", "CreateCampaign", .body_field = "campaign",
          .success_status = 201, .flags = ROUTE_BODY | ROUTE_MASK | ROUTE_CREATE,
          .summary = "Создать диагностическую кампанию (черновик)"),
    ROUTE("diagnostics", "GET", "/api/v1/diagnostics/campaigns", "ListCampaigns", .flags = ROUTE_QUERY,
          .summary = "Список диагностических кампаний"),
    ROUTE("diagnostics", "GET", "/api/v1/diagnostics/campaigns/{id}", "GetCampaign",
          .summary = "Диагностическая кампания"),
    ROUTE("diagnostics", "PATCH", "/api/v1/diagnostics/campaigns/{id}", "UpdateCampaign", .body_field = "campaign",
          .flags = ROUTE_BODY | ROUTE_MASK | ROUTE_IF_MATCH,
          .summary = "Изменить кампанию (открытую — только название и срок окончания)"),
    ROUTE("diagnostics", "POST", "/api/v1/diagnostics/campaigns/{id}/open", "OpenCampaign", .flags = ROUTE_IF_MATCH,
          .summary = "Открыть кампанию: назначить диагностику всем адресатам из реестра"),
    ROUTE("diagnostics", "POST", "/api/v1/diagnostics/campaigns/{id}/close", "CloseCampaign", .flags = ROUTE_IF_MATCH,
          .summary = "Закрыть кампанию: ответы больше не принимаются"),
    ROUTE("diagnostics", "GET", "/api/v1/diagnostics/campaigns/{id}/progress", "GetCampaignProgress",
          .summary = "Ход кампании по организациям: назначено, начато, завершено"),
    ROUTE("diagnostics", "POST", "/api/v1/diagnostics/attempts", "StartAttempt", .flags = ROUTE_BODY,
          .summary = "Начать диагностику ({\"campaignId\", \"staffId\"})"),
    ROUTE("diagnostics", "GET", "/api/v1/diagnostics/attempts", "ListAttempts", .flags = ROUTE_QUERY,
          .summary = "Попытки кампании (campaignId) в своей области"),
    ROUTE("diagnostics", "GET", "/api/v1/diagnostics/attempts/{id}", "GetAttempt", .summary = "Попытка диагностики"),
    ROUTE("diagnostics", "PATCH", "/api/v1/diagnostics/attempts/{id}", "SaveAnswers",
          .flags = ROUTE_BODY | ROUTE_IF_MATCH, .summary = "Сохранить ответы (без сдачи)"),
    {.method = "POST",
     .path_template = "/api/v1/diagnostics/attempts/{id}/submit",
     .service = "diagnostics",
     .rpc = "SubmitAttempt",
     .flags = ROUTE_BODY,
     .summary = "Сдать диагностику: оценивание на сервере; ответ — попытка с результатом, без ответов (они в GET); "
                "повторная сдача ничего не меняет"},
    ROUTE("diagnostics", "GET", "/api/v1/diagnostics/results", "ListResults", .flags = ROUTE_QUERY,
          .summary = "Результаты диагностики в своей области (по сотруднику, кампании, дефициту)"),
    ROUTE("diagnostics", "GET", "/api/v1/diagnostics/results/{id}", "GetResult",
          .summary = "Результат диагностики: баллы по компетенциям, дефициты, сильные стороны"),
    ROUTE("diagnostics", "GET", "/api/v1/staff/{id}/competence-profile", "GetCompetenceProfile",
          .summary = "Профиль компетенций сотрудника с историей результатов"),
    ROUTE("diagnostics", "GET", "/api/v1/staff/{id}/route", "GetRoute",
          .summary = "Индивидуальный образовательный маршрут (просроченные пункты, закрытые дефициты)"),
    ROUTE("diagnostics", "POST", "/api/v1/staff/{id}/route", "GenerateRoute", .flags = ROUTE_BODY | ROUTE_IF_MATCH,
          .summary = "Составить маршрут по дефицитам последнего результата (черновик)"),
    ROUTE("diagnostics", "PATCH", "/api/v1/staff/{id}/route", "UpdateRoute", .body_field = "route",
          .flags = ROUTE_BODY | ROUTE_MASK | ROUTE_IF_MATCH, .summary = "Изменить пункты черновика маршрута"),
    ROUTE("diagnostics", "POST", "/api/v1/staff/{id}/route/approve", "ApproveRoute", .flags = ROUTE_IF_MATCH,
          .summary = "Утвердить маршрут"),
    ROUTE("diagnostics", "POST", "/api/v1/staff/{id}/route/items/{item_id}/status", "SetRouteItemStatus",
          .flags = ROUTE_BODY | ROUTE_IF_MATCH,
          .summary =
              "Сменить состояние пункта маршрута (программу, отмеченную педагогом, подтверждает методист или тьютор)"),
    ROUTE("diagnostics", "POST", "/api/v1/staff/{id}/route/propose", "ProposeRoute", .flags = ROUTE_IF_MATCH,
          .summary = "Предложить черновик маршрута педагогу (или самому педагогу — методисту: это и его согласие)"),
    ROUTE("diagnostics", "POST", "/api/v1/staff/{id}/route/agree", "AgreeRoute", .flags = ROUTE_BODY | ROUTE_IF_MATCH,
          .summary = "Согласие педагога с предложенным маршрутом (decline=true и comment — вернуть в черновик)"),
    ROUTE("diagnostics", "POST", "/api/v1/staff/{id}/route/items/{item_id}/confirm", "ConfirmRouteItem",
          .flags = ROUTE_BODY | ROUTE_IF_MATCH,
          .summary = "Подтвердить выполнение пункта (методист или тьютор): создаётся запись о повышении "
                     "квалификации; returned=true — вернуть на доработку"),
    ROUTE("diagnostics", "GET", "/api/v1/staff/{id}/route/versions", "ListRouteVersions",
          .summary = "Прежние версии маршрута (до каждого пересоставления), с датами"),
    ROUTE("diagnostics", "POST", "/api/v1/diagnostics/campaigns/{campaign_id}/nominations", "NominateStaff",
          .flags = ROUTE_BODY,
          .summary = "Выдвинуть работников на диагностику (staffIds): школа — своих, методист — своего муниципалитета"),
    ROUTE("diagnostics", "GET", "/api/v1/diagnostics/deficits", "GetDeficitSummary", .flags = ROUTE_QUERY,
          .summary =
              "Сводка дефицитов по кампании (campaignId) или области (regionId, municipalityId, organizationId): "
              "сколько человек с каждым дефицитом, по организациям и предметам"),
    ROUTE("diagnostics", "GET", "/api/v1/export/deficits", "ExportDeficitSummary", .flags = ROUTE_QUERY | ROUTE_CSV_OUT,
          .timeout_ms = EXPORT_TIMEOUT_MS, .summary = "Сводка дефицитов в CSV (те же параметры)"),
    CRUD("associations", "Association", "Associations", "association",
         "методические объединения и профессиональные сообщества", "объединение"),
    ROUTE("registry", "POST", "/api/v1/associations/{association_id}/members", "CreateMembership",
          .body_field = "membership", .success_status = 201, .flags = ROUTE_BODY | ROUTE_MASK,
          .summary = "Принять сотрудника в объединение (staffId, joinedOn); повторное вступление — новая запись"),
    ROUTE("registry", "GET", "/api/v1/associations/{association_id}/members", "ListMemberships", .flags = ROUTE_QUERY,
          .summary = "История членства в объединении (on — состав на дату, from/to — за период)"),
    ROUTE("registry", "POST", "/api/v1/associations/{association_id}/members/{membership_id}/leave", "LeaveMembership",
          .flags = ROUTE_BODY | ROUTE_IF_MATCH,
          .summary = "Отметить выход сотрудника из объединения (leftOn — первый день вне)"),
    ROUTE("registry", "GET", "/api/v1/memberships/{id}", "GetMembership",
          .summary = "Запись о членстве по идентификатору"),
    ROUTE("registry", "GET", "/api/v1/staff/{staff_id}/memberships", "ListStaffMemberships", .flags = ROUTE_QUERY,
          .summary = "Членство сотрудника в объединениях (on — на дату, from/to — за период)"),
    CRUD("councils", "Council", "Councils", "council", "методические советы", "методический совет"),
    ROUTE("registry", "POST", "/api/v1/councils/{council_id}/meetings", "CreateCouncilMeeting", .body_field = "meeting",
          .success_status = 201, .flags = ROUTE_BODY | ROUTE_MASK,
          .summary = "Записать заседание совета: дата, повестка, участники, решения"),
    ROUTE("registry", "GET", "/api/v1/councils/{council_id}/meetings", "ListCouncilMeetings", .flags = ROUTE_QUERY,
          .summary = "Заседания совета по дате (from/to)"),
    ROUTE("registry", "GET", "/api/v1/council-meetings/{id}", "GetCouncilMeeting",
          .summary = "Заседание совета по идентификатору"),
    ROUTE("registry", "PATCH", "/api/v1/council-meetings/{id}", "UpdateCouncilMeeting", .body_field = "meeting",
          .flags = ROUTE_BODY | ROUTE_MASK | ROUTE_IF_MATCH,
          .summary = "Изменить заседание совета (только переданные поля)"),
    ROUTE("registry", "DELETE", "/api/v1/council-meetings/{id}", "DeleteCouncilMeeting", .flags = ROUTE_IF_MATCH,
          .summary = "Удалить заседание совета"),
    ROUTE("registry", "GET", "/api/v1/council-meetings/{id}/protocol", "CouncilMeetingProtocol",
          .flags = ROUTE_FILE_OUT,
          .summary = "Протокол проведённого заседания совета — печатная страница HTML (A4): явка и кворум, повестка "
                     "с голосованием, решения с адресатами и сроками, подписи председателя и секретаря"),
    CRUD("programmes", "Programme", "Programmes", "programme",
         "каталог программ повышения квалификации (q — слова названия, competence, tag, federalRegistry)",
         "программу повышения квалификации"),
    ROUTE("registry", "POST", "/api/v1/qualification-records", "CreateQualificationRecord", .body_field = "record",
          .success_status = 201, .flags = ROUTE_BODY | ROUTE_MASK | ROUTE_CREATE,
          .summary = "Записать пройденное обучение (повторная запись по тому же routeItemId возвращает существующую)"),
    ROUTE("registry", "GET", "/api/v1/qualification-records", "ListQualificationRecords", .flags = ROUTE_QUERY,
          .summary = "Записи о повышении квалификации"),
    ROUTE("registry", "GET", "/api/v1/qualification-records/{id}", "GetQualificationRecord",
          .summary = "Запись о повышении квалификации по идентификатору"),
    ROUTE("registry", "DELETE", "/api/v1/qualification-records/{id}", "DeleteQualificationRecord",
          .flags = ROUTE_IF_MATCH, .summary = "Удалить запись о повышении квалификации"),
    ROUTE("registry", "GET", "/api/v1/staff/{staff_id}/qualification-records", "ListStaffQualificationRecords",
          .flags = ROUTE_QUERY, .summary = "Повышение квалификации сотрудника"),
    CRUD("practices", "Practice", "Practices", "practice",
         "банк эффективных практик (q — слова названия, subject, competence, status)", "практику"),
    ROUTE("registry", "POST", "/api/v1/practices/{id}/review", "ReviewPractice", .flags = ROUTE_BODY | ROUTE_IF_MATCH,
          .summary = "Экспертиза практики: action = start | publish | reject (с comment) | resubmit"),
    CRUD("help-requests", "HelpRequest", "HelpRequests", "help_request",
         "запросы на методическую помощь (status, urgency, competence, municipalityId, organizationId, staffId, q)",
         "запрос на методическую помощь"),
    ROUTE("registry", "POST", "/api/v1/help-requests/{id}/status", "ActOnHelpRequest",
          .flags = ROUTE_BODY | ROUTE_IF_MATCH,
          .summary = "Ответ на запрос: action = answer (kind, refId, note) | close | reopen"),
    CRUD("council-decisions", "CouncilDecision", "CouncilDecisions", "decision",
         "решения и рекомендации советов (councilId, meetingId, status, kind, addresseeOrganizationId, overdue)",
         "решение или рекомендацию совета"),
    CRUD("consultations", "Consultation", "Consultations", "consultation",
         "журнал консультаций (asker, form, from/to, municipalityId, organizationId, helpRequestId)",
         "запись о консультации"),
    /* import and export (CSV in, CSV out): larger bodies and longer deadlines for these rows only */
    {.method = "POST",
     .path_template = "/api/v1/import/organizations",
     .service = "registry",
     .rpc = "ImportOrganizations",
     .flags = ROUTE_CSV_IN | ROUTE_QUERY,
     .summary = "Импорт организаций из CSV (UTF-8 или Windows-1251, «;» или «,»): создаёт и обновляет по внешнему "
                "идентификатору; dryRun=true — только проверка",
     .max_body_bytes = IMPORT_MAX_BODY,
     .timeout_ms = IMPORT_TIMEOUT_MS},
    {.method = "POST",
     .path_template = "/api/v1/import/staff",
     .service = "registry",
     .rpc = "ImportStaff",
     .flags = ROUTE_CSV_IN | ROUTE_QUERY,
     .summary = "Импорт сотрудников из CSV: создаёт и обновляет по внешнему идентификатору (СНИЛС или код региона); "
                "dryRun=true — только проверка",
     .max_body_bytes = IMPORT_MAX_BODY,
     .timeout_ms = IMPORT_TIMEOUT_MS},
    ROUTE("registry", "GET", "/api/v1/import/templates/organizations.csv", "ImportTemplateOrganizations",
          .flags = ROUTE_CSV_OUT, .summary = "Шаблон CSV для импорта организаций"),
    ROUTE("registry", "GET", "/api/v1/import/templates/staff.csv", "ImportTemplateStaff", .flags = ROUTE_CSV_OUT,
          .summary = "Шаблон CSV для импорта сотрудников"),
    ROUTE("registry", "GET", "/api/v1/export/organizations", "ExportOrganizations",
          .flags = ROUTE_QUERY | ROUTE_CSV_OUT,
          .summary = "Выгрузка организаций в CSV для Excel (те же фильтры, что у списка)",
          .timeout_ms = EXPORT_TIMEOUT_MS),
    ROUTE("registry", "GET", "/api/v1/export/staff", "ExportStaff", .flags = ROUTE_QUERY | ROUTE_CSV_OUT,
          .summary = "Выгрузка сотрудников в CSV для Excel (те же фильтры, что у списка)",
          .timeout_ms = EXPORT_TIMEOUT_MS),
    EXPORT_ROUTE("municipalities", "ExportMunicipalities",
                 "Выгрузка муниципальных образований в CSV для Excel (те же фильтры, что у списка)"),
    EXPORT_ROUTE("associations", "ExportAssociations",
                 "Выгрузка методических объединений и сообществ в CSV (те же фильтры, что у списка)"),
    EXPORT_ROUTE("memberships", "ExportMemberships",
                 "Выгрузка членства в объединениях в CSV (associationId или staffId, on, from/to — как у списков)"),
    EXPORT_ROUTE("councils", "ExportCouncils", "Выгрузка методических советов в CSV (те же фильтры, что у списка)"),
    EXPORT_ROUTE("council-meetings", "ExportCouncilMeetings",
                 "Выгрузка заседаний советов в CSV (councilId, from/to — как у списка)"),
    EXPORT_ROUTE("programmes", "ExportProgrammes", "Выгрузка каталога программ в CSV (те же фильтры, что у списка)"),
    EXPORT_ROUTE("qualification-records", "ExportQualificationRecords",
                 "Выгрузка записей о повышении квалификации в CSV (те же фильтры, что у списка)"),
    EXPORT_ROUTE("practices", "ExportPractices", "Выгрузка банка практик в CSV (те же фильтры, что у списка)"),
    EXPORT_ROUTE("help-requests", "ExportHelpRequests", "Выгрузка запросов на методическую помощь в CSV"),
    EXPORT_ROUTE("consultations", "ExportConsultations", "Выгрузка журнала консультаций в CSV"),
    EXPORT_ROUTE("council-decisions", "ExportCouncilDecisions", "Выгрузка решений и рекомендаций советов в CSV"),
    /* events: the yearly plans of events, events, registrations with the waitlist, attendance */
    ROUTE("events", "POST", "/api/v1/event-plans", "CreateEventPlan", .body_field = "plan", .success_status = 201,
          .flags = ROUTE_BODY | ROUTE_MASK | ROUTE_CREATE,
          .summary = "Создать план мероприятий (уровень, муниципалитет или организация, учебный год)"),
    ROUTE("events", "GET", "/api/v1/event-plans", "ListEventPlans", .flags = ROUTE_QUERY,
          .summary = "Планы мероприятий (level, status, year, municipalityId, organizationId)"),
    ROUTE("events", "GET", "/api/v1/event-plans/{id}", "GetEventPlan", .summary = "План мероприятий"),
    ROUTE("events", "PATCH", "/api/v1/event-plans/{id}", "UpdateEventPlan", .body_field = "plan",
          .flags = ROUTE_BODY | ROUTE_MASK | ROUTE_IF_MATCH,
          .summary = "Изменить план (утверждённый — с причиной changeReason: новая версия плана)"),
    ROUTE("events", "DELETE", "/api/v1/event-plans/{id}", "DeleteEventPlan", .flags = ROUTE_IF_MATCH,
          .summary = "Удалить план без мероприятий"),
    ROUTE("events", "POST", "/api/v1/event-plans/{id}/approve", "ApproveEventPlan",
          .flags = ROUTE_BODY | ROUTE_IF_MATCH, .summary = "Утвердить план приказом (orderNumber, orderDate)"),
    EVENTS_EXPORT_ROUTE("event-plans", "ExportEventPlans",
                        "Выгрузка планов мероприятий в CSV (те же фильтры, что у списка)"),
    ROUTE("events", "POST", "/api/v1/events", "CreateEvent", .body_field = "event", .success_status = 201,
          .flags = ROUTE_BODY | ROUTE_MASK | ROUTE_CREATE, .summary = "Создать мероприятие (черновик)"),
    ROUTE("events", "GET", "/api/v1/events", "ListEvents", .flags = ROUTE_QUERY,
          .summary = "Мероприятия по дате начала (municipalityId, organizationId, type, level, status, competence, "
                     "subject, from/to, planId)"),
    ROUTE("events", "GET", "/api/v1/events/{id}", "GetEvent", .summary = "Мероприятие"),
    ROUTE("events", "PATCH", "/api/v1/events/{id}", "UpdateEvent", .body_field = "event",
          .flags = ROUTE_BODY | ROUTE_MASK | ROUTE_IF_MATCH,
          .summary = "Изменить мероприятие (опубликованное — уведомление event.changed)"),
    ROUTE("events", "DELETE", "/api/v1/events/{id}", "DeleteEvent", .flags = ROUTE_IF_MATCH,
          .summary = "Удалить черновик мероприятия"),
    ROUTE("events", "POST", "/api/v1/events/{id}/publish", "PublishEvent", .flags = ROUTE_BODY | ROUTE_IF_MATCH,
          .summary = "Опубликовать мероприятие: открыть запись"),
    ROUTE("events", "POST", "/api/v1/events/{id}/cancel", "CancelEvent", .flags = ROUTE_BODY | ROUTE_IF_MATCH,
          .summary = "Отменить мероприятие (reason)"),
    ROUTE("events", "POST", "/api/v1/events/{id}/finish", "FinishEvent", .flags = ROUTE_BODY | ROUTE_IF_MATCH,
          .summary = "Завершить мероприятие"),
    ROUTE("events", "POST", "/api/v1/events/{id}/registrations", "CreateRegistration", .flags = ROUTE_BODY,
          .success_status = 201,
          .summary = "Записаться (педагог — себя) или записать сотрудника (staffId); мест нет — лист ожидания"),
    ROUTE("events", "GET", "/api/v1/events/{event_id}/registrations", "ListEventRegistrations", .flags = ROUTE_QUERY,
          .summary = "Участники мероприятия (status, organizationId, municipalityId)"),
    ROUTE("events", "GET", "/api/v1/events/{event_id}/registrations.csv", "ExportEventRegistrations",
          .flags = ROUTE_QUERY | ROUTE_CSV_OUT, .timeout_ms = EXPORT_TIMEOUT_MS,
          .summary = "Список участников и сертификатов в CSV"),
    ROUTE("events", "POST", "/api/v1/events/{id}/attendance", "MarkAttendance", .flags = ROUTE_BODY,
          .summary = "Отметить посещение (marks: registrationId, attended); посещение закрывает пункт маршрута"),
    EVENTS_EXPORT_ROUTE("events", "ExportEvents", "Выгрузка мероприятий в CSV (те же фильтры, что у списка)"),
    ROUTE("events", "GET", "/api/v1/registrations/{id}", "GetRegistration", .summary = "Запись на мероприятие"),
    ROUTE("events", "POST", "/api/v1/registrations/{id}/cancel", "CancelRegistration",
          .flags = ROUTE_BODY | ROUTE_IF_MATCH,
          .summary = "Отменить запись; первый подходящий из листа ожидания записывается автоматически"),
    ROUTE("events", "GET", "/api/v1/staff/{staff_id}/registrations", "ListStaffRegistrations", .flags = ROUTE_QUERY,
          .summary = "Записи сотрудника на мероприятия"),
    /* indicators: I1–I13 per scope and period, the region's targets, snapshots, recommendations */
    ROUTE("indicators", "GET", "/api/v1/indicators", "ListIndicators", .flags = ROUTE_QUERY,
          .summary = "Каталог показателей I1–I13 с целями региона"),
    ROUTE("indicators", "POST", "/api/v1/indicators/recompute", "Recompute", .flags = ROUTE_BODY,
          .timeout_ms = EXPORT_TIMEOUT_MS,
          .summary = "Полный пересчёт из служб-источников и сверка с текущими значениями (check: только сверка)"),
    ROUTE("indicators", "GET", "/api/v1/indicator-values", "GetIndicatorValues", .flags = ROUTE_QUERY | ROUTE_FILE_OUT,
          .timeout_ms = EXPORT_TIMEOUT_MS,
          .summary = "Значения показателей территории за период (scopeKind, scopeId, period: 2026, 2025/26 или "
                     "2026-01-01..2026-03-31; indicator; by: municipality, organization, subject; format: csv или "
                     "xlsx — та же таблица файлом)"),
    ROUTE("indicators", "POST", "/api/v1/indicators", "CreateIndicator", .body_field = "indicator",
          .success_status = 201, .flags = ROUTE_BODY,
          .summary = "Собственный показатель региона: {code, name, numerator, denominator, unit} с формулами "
                     "над базовыми показателями (администратор региона; формулы проверяются при сохранении)"),
    ROUTE("indicators", "PUT", "/api/v1/indicators/{code}", "UpdateIndicator", .body_field = "indicator",
          .flags = ROUTE_BODY | ROUTE_IF_MATCH, .summary = "Изменить собственный показатель региона"),
    ROUTE("indicators", "DELETE", "/api/v1/indicators/{code}", "DeleteIndicator", .flags = ROUTE_QUERY | ROUTE_IF_MATCH,
          .summary = "Удалить собственный показатель региона (и его цель)"),
    ROUTE("indicators", "GET", "/api/v1/reports/yearly", "YearlyReport", .flags = ROUTE_QUERY | ROUTE_FILE_OUT,
          .timeout_ms = EXPORT_TIMEOUT_MS,
          .summary = "Годовой аналитический отчёт территории (scopeKind, scopeId, year; format: xlsx или html — "
                     "печатная страница): значения против целей и прошлого года, рекомендации, полнота мониторинга"),
    ROUTE("indicators", "PUT", "/api/v1/indicator-targets/{indicator}", "SetIndicatorTarget", .flags = ROUTE_BODY,
          .summary = "Цель показателя для региона ({\"target\": 80})"),
    ROUTE("indicators", "POST", "/api/v1/indicator-snapshots", "CreateSnapshot", .flags = ROUTE_BODY,
          .success_status = 201,
          .summary = "Заморозить значения территории за период (новая версия снимка; так же закрывается мониторинг)"),
    ROUTE("indicators", "GET", "/api/v1/indicator-snapshots", "ListSnapshots", .flags = ROUTE_QUERY,
          .summary = "Снимки значений за период (закрытие мониторинга)"),
    ROUTE("indicators", "GET", "/api/v1/indicator-snapshots/{id}", "GetSnapshot", .summary = "Снимок значений"),
    ROUTE("indicators", "GET", "/api/v1/recommendations", "ListRecommendations", .flags = ROUTE_QUERY,
          .summary = "Адресные рекомендации по показателям ниже цели (создаются при запросе)"),
    ROUTE("indicators", "POST", "/api/v1/recommendations/{id}/status", "SetRecommendationStatus",
          .flags = ROUTE_BODY | ROUTE_IF_MATCH, .summary = "Состояние рекомендации: sent → accepted → done"),
    {.method = "POST",
     .path_template = "/api/v1/diagnostics/results/import",
     .service = "diagnostics",
     .rpc = "ImportResults",
     .flags = ROUTE_CSV_IN | ROUTE_QUERY,
     .summary =
         "Импорт результатов внешнего диагностического центра из CSV (campaignId — кампания независимой диагностики): "
         "баллы по компетенциям на человека, повторный импорт не создаёт дублей; dryRun=true — только проверка",
     .max_body_bytes = IMPORT_MAX_BODY,
     .timeout_ms = IMPORT_TIMEOUT_MS},
    ROUTE("diagnostics", "GET", "/api/v1/diagnostics/results/import/template.csv", "ImportResultsTemplate",
          .flags = ROUTE_QUERY | ROUTE_CSV_OUT,
          .summary = "Шаблон CSV результатов для инструмента кампании (campaignId)"),
    /* notifications to school systems (services/notify, docs/notifications.md) */
    ROUTE("notify", "POST", "/api/v1/webhooks", "CreateWebhook", .body_field = "webhook", .success_status = 201,
          .flags = ROUTE_BODY | ROUTE_MASK | ROUTE_CREATE | ROUTE_SECRET,
          .summary = "Подписаться на уведомления (url, eventTypes): секрет whsec_… показывается один раз"),
    ROUTE("notify", "GET", "/api/v1/webhooks", "ListWebhooks", .flags = ROUTE_QUERY,
          .summary = "Подписки, которыми вызывающий может управлять (ключ школьной ИС — только свои)"),
    ROUTE("notify", "GET", "/api/v1/webhooks/{id}", "GetWebhook", .summary = "Подписка (без секрета)"),
    ROUTE("notify", "DELETE", "/api/v1/webhooks/{id}", "DeleteWebhook", .flags = ROUTE_IF_MATCH,
          .summary = "Удалить подписку: недоставленное больше не отправляется"),
    ROUTE("notify", "POST", "/api/v1/webhooks/{id}/enable", "EnableWebhook", .flags = ROUTE_IF_MATCH,
          .summary = "Снова включить подписку, отключённую после отказов получателя"),
    ROUTE("notify", "POST", "/api/v1/webhooks/{id}/disable", "DisableWebhook", .flags = ROUTE_IF_MATCH,
          .summary = "Приостановить подписку: уведомления не отправляются, пока её не включат снова (…/enable)"),
    ROUTE("notify", "GET", "/api/v1/webhooks/{id}/deliveries", "ListDeliveries", .flags = ROUTE_QUERY,
          .summary = "Журнал доставок подписки: состояние, попытки, код и начало ответа получателя"),
    ROUTE("notify", "POST", "/api/v1/webhooks/{id}/deliveries/{delivery_id}/retry", "RetryDelivery",
          .summary = "Повторить доставку сейчас"),
    ROUTE("notify", "GET", "/api/v1/notifications", "ListNotifications", .flags = ROUTE_QUERY,
          .summary = "Лента уведомлений своей области: after — курсор последнего полученного, limit — размер страницы"),
    ROUTE("notify", "GET", "/api/v1/notifications/stream", "ListNotifications", .flags = ROUTE_QUERY | ROUTE_SSE,
          .summary = "Поток уведомлений (text/event-stream, SSE): id — курсор ленты, Last-Event-ID продолжает без "
                     "потерь, комментарий keep-alive каждые 15 с"),
    /* mentoring (services/mentoring): support programmes, mentors, pairs, matching */
    ROUTE("mentoring", "POST", "/api/v1/support-programmes", "CreateSupportProgramme", .body_field = "programme",
          .success_status = 201, .flags = ROUTE_BODY | ROUTE_MASK | ROUTE_CREATE,
          .summary = "Создать программу поддержки (наставничество, поддержка молодых педагогов, объединений)"),
    ROUTE("mentoring", "GET", "/api/v1/support-programmes", "ListSupportProgrammes", .flags = ROUTE_QUERY,
          .summary = "Список программ поддержки (kind, level, status, municipalityId, organizationId)"),
    ROUTE("mentoring", "GET", "/api/v1/support-programmes/{id}", "GetSupportProgramme",
          .summary = "Программа поддержки"),
    ROUTE("mentoring", "PATCH", "/api/v1/support-programmes/{id}", "UpdateSupportProgramme", .body_field = "programme",
          .flags = ROUTE_BODY | ROUTE_MASK | ROUTE_IF_MATCH, .summary = "Изменить программу поддержки"),
    ROUTE("mentoring", "DELETE", "/api/v1/support-programmes/{id}", "DeleteSupportProgramme", .flags = ROUTE_IF_MATCH,
          .summary = "Удалить программу поддержки без пар"),
    ROUTE("mentoring", "GET", "/api/v1/export/support-programmes", "ExportSupportProgrammes",
          .flags = ROUTE_QUERY | ROUTE_CSV_OUT, .summary = "Выгрузка программ поддержки в CSV (фильтры списка)",
          .timeout_ms = EXPORT_TIMEOUT_MS),
    ROUTE("mentoring", "POST", "/api/v1/mentors", "CreateMentor", .body_field = "mentor", .success_status = 201,
          .flags = ROUTE_BODY | ROUTE_MASK,
          .summary = "Профиль наставника сотрудника: сертификация, предельная нагрузка, компетенции"),
    ROUTE("mentoring", "GET", "/api/v1/mentors", "ListMentors", .flags = ROUTE_QUERY,
          .summary = "Список наставников (municipalityId, organizationId, certified, available, subject, competence)"),
    ROUTE("mentoring", "GET", "/api/v1/mentors/{staff_id}", "GetMentor", .summary = "Профиль наставника сотрудника"),
    ROUTE("mentoring", "PATCH", "/api/v1/mentors/{staff_id}", "UpdateMentor", .body_field = "mentor",
          .flags = ROUTE_BODY | ROUTE_MASK | ROUTE_IF_MATCH, .summary = "Изменить профиль наставника"),
    ROUTE("mentoring", "GET", "/api/v1/export/mentors", "ExportMentors", .flags = ROUTE_QUERY | ROUTE_CSV_OUT,
          .summary = "Выгрузка наставников в CSV (фильтры списка)", .timeout_ms = EXPORT_TIMEOUT_MS),
    ROUTE("mentoring", "POST", "/api/v1/mentoring-pairs", "CreatePair", .body_field = "pair", .success_status = 201,
          .flags = ROUTE_BODY | ROUTE_MASK | ROUTE_CREATE,
          .summary = "Создать пару наставничества (proposed); нагрузка наставника проверяется атомарно"),
    ROUTE("mentoring", "GET", "/api/v1/mentoring-pairs", "ListPairs", .flags = ROUTE_QUERY,
          .summary = "Список пар (programmeId, status, form, mentorStaffId, menteeStaffId, municipalityId)"),
    ROUTE("mentoring", "GET", "/api/v1/mentoring-pairs/{id}", "GetPair", .summary = "Пара наставничества"),
    ROUTE("mentoring", "PATCH", "/api/v1/mentoring-pairs/{id}", "UpdatePair", .body_field = "pair",
          .flags = ROUTE_BODY | ROUTE_MASK | ROUTE_IF_MATCH, .summary = "Изменить план, компетенции, сроки пары"),
    ROUTE("mentoring", "POST", "/api/v1/mentoring-pairs/{id}/activate", "ActivatePair",
          .flags = ROUTE_BODY | ROUTE_IF_MATCH, .summary = "Начать наставничество (proposed → active)"),
    ROUTE("mentoring", "POST", "/api/v1/mentoring-pairs/{id}/complete", "CompletePair",
          .flags = ROUTE_BODY | ROUTE_IF_MATCH, .summary = "Завершить с результатом (active → completed)"),
    ROUTE("mentoring", "POST", "/api/v1/mentoring-pairs/{id}/cancel", "CancelPair",
          .flags = ROUTE_BODY | ROUTE_IF_MATCH, .summary = "Отменить пару с причиной"),
    ROUTE("mentoring", "POST", "/api/v1/mentoring-pairs/{id}/meetings", "LogMeeting",
          .flags = ROUTE_BODY | ROUTE_IF_MATCH, .summary = "Записать встречу в журнал пары"),
    ROUTE("mentoring", "GET", "/api/v1/export/mentoring-pairs", "ExportPairs", .flags = ROUTE_QUERY | ROUTE_CSV_OUT,
          .summary = "Выгрузка пар наставничества в CSV (фильтры списка)", .timeout_ms = EXPORT_TIMEOUT_MS),
    ROUTE("mentoring", "GET", "/api/v1/staff/{staff_id}/mentoring", "ListStaffPairs", .flags = ROUTE_QUERY,
          .summary = "Пары сотрудника (наставник или наставляемый)"),
    ROUTE("mentoring", "GET", "/api/v1/mentoring/matches", "Match", .flags = ROUTE_QUERY, .timeout_ms = 30000,
          .summary = "Подбор наставников для наставляемого по дефицитам последней диагностики (menteeId, programmeId, "
                     "limit): баллы по составляющим и объяснение"),
    ROUTE("mentoring", "POST", "/api/v1/mentoring/assignments", "Assign", .flags = ROUTE_BODY, .timeout_ms = 60000,
          .summary = "Распределение наставляемых по наставникам с наибольшим суммарным соответствием (programmeId; "
                     "menteeIds, municipalityId или regionId; dryRun — только предложение)"),
    /* monitoring: campaigns of a period's monitoring, the schools' reports, progress, snapshots */
    ROUTE("monitoring", "POST", "/api/v1/monitoring/campaigns", "CreateCampaign", .body_field = "campaign",
          .success_status = 201, .flags = ROUTE_BODY | ROUTE_MASK | ROUTE_CREATE,
          .summary = "Создать кампанию мониторинга (форма, охват, период, срок; template — начать с шаблона формы)"),
    ROUTE("monitoring", "GET", "/api/v1/monitoring/campaigns", "ListCampaigns", .flags = ROUTE_QUERY,
          .summary = "Список кампаний мониторинга"),
    ROUTE("monitoring", "GET", "/api/v1/monitoring/campaigns/{id}", "GetCampaign", .summary = "Кампания мониторинга"),
    ROUTE("monitoring", "PATCH", "/api/v1/monitoring/campaigns/{id}", "UpdateCampaign", .body_field = "campaign",
          .flags = ROUTE_BODY | ROUTE_MASK | ROUTE_IF_MATCH, .summary = "Изменить черновик кампании мониторинга"),
    ROUTE("monitoring", "POST", "/api/v1/monitoring/campaigns/{id}/open", "OpenCampaign",
          .flags = ROUTE_BODY | ROUTE_IF_MATCH, .summary = "Открыть кампанию: охват фиксируется по реестру"),
    ROUTE("monitoring", "POST", "/api/v1/monitoring/campaigns/{id}/close", "CloseCampaign",
          .flags = ROUTE_BODY | ROUTE_IF_MATCH,
          .summary = "Закрыть кампанию: снимок утверждённых значений (новая версия) и снимок показателей периода"),
    ROUTE("monitoring", "POST", "/api/v1/monitoring/campaigns/{id}/reopen", "ReopenCampaign",
          .flags = ROUTE_BODY | ROUTE_IF_MATCH,
          .summary = "Открыть закрытую кампанию повторно (deadline — новый срок): отчёты принимаются и после срока"),
    ROUTE("monitoring", "GET", "/api/v1/monitoring/form-templates", "ListFormTemplates", .flags = ROUTE_QUERY,
          .summary = "Шаблоны формы мониторинга (качественные критерии положений, экспертная оценка)"),
    ROUTE("monitoring", "GET", "/api/v1/monitoring/campaigns/{campaign_id}/reports", "ListReports",
          .flags = ROUTE_QUERY, .summary = "Отчёты организаций кампании (статусы; municipalityId, status)"),
    ROUTE("monitoring", "GET", "/api/v1/monitoring/campaigns/{campaign_id}/reports/{organization_id}", "GetReport",
          .summary = "Отчёт организации в кампании"),
    ROUTE("monitoring", "PUT", "/api/v1/monitoring/campaigns/{campaign_id}/reports/{organization_id}", "SaveReport",
          .body_field = "report", .flags = ROUTE_BODY,
          .summary = "Сохранить черновик отчёта (администратор организации)"),
    ROUTE("monitoring", "POST", "/api/v1/monitoring/campaigns/{campaign_id}/reports/{organization_id}/submit",
          "SubmitReport", .flags = ROUTE_BODY,
          .summary = "Отправить отчёт на проверку (values — заполнить и отправить одним запросом)"),
    ROUTE("monitoring", "POST", "/api/v1/monitoring/campaigns/{campaign_id}/reports/{organization_id}/approve",
          "ApproveReport", .flags = ROUTE_BODY, .summary = "Утвердить отчёт (методист муниципалитета)"),
    ROUTE("monitoring", "POST", "/api/v1/monitoring/campaigns/{campaign_id}/reports/{organization_id}/return",
          "ReturnReport", .flags = ROUTE_BODY, .summary = "Вернуть отчёт на доработку с комментарием"),
    ROUTE("monitoring", "GET", "/api/v1/monitoring/campaigns/{id}/progress", "GetProgress",
          .summary = "Ход кампании по муниципалитетам и опаздывающие организации"),
    ROUTE("monitoring", "GET", "/api/v1/monitoring/campaigns/{id}/snapshots", "ListSnapshots",
          .summary = "Снимки кампании (версия на каждое закрытие)"),
    ROUTE("monitoring", "GET", "/api/v1/monitoring/campaigns/{id}/snapshots/{version}", "GetSnapshot",
          .summary = "Снимок кампании: утверждённые значения на момент закрытия"),
};

const ProtobufCServiceDescriptor *routes_service(const char *service)
{
    static const struct {
        const char *name;
        const ProtobufCServiceDescriptor *descriptor;
    } services[] = {
        {"auth", &metodnet__auth__descriptor},
        {"registry", &metodnet__registry__descriptor},
        {"diagnostics", &metodnet__diagnostics__descriptor},
        {"notify", &metodnet__notify__descriptor},
        {"events", &metodnet__events__descriptor},
        {"mentoring", &metodnet__mentoring__descriptor},
        {"indicators", &metodnet__indicators__descriptor},
        {"monitoring", &metodnet__monitoring__descriptor},
    };
    for (size_t i = 0; service != NULL && i < sizeof services / sizeof services[0]; i++)
        if (strcmp(services[i].name, service) == 0)
            return services[i].descriptor;
    return NULL;
}

static const ProtobufCMethodDescriptor *s_method_lookup(const route *r)
{
    const ProtobufCServiceDescriptor *service = routes_service(r->service);
    return service ? protobuf_c_service_descriptor_get_method_by_name(service, r->rpc) : NULL;
}

const ProtobufCMethodDescriptor *route_method(const route *r)
{
    /* looked up once per route of the table (every request asks; the gateway has one thread) */
    static const ProtobufCMethodDescriptor *methods[sizeof s_routes / sizeof s_routes[0]];
    size_t n = sizeof s_routes / sizeof s_routes[0];
    uintptr_t offset = (uintptr_t)r - (uintptr_t)s_routes; /* a route of the table, or another one */
    if (offset >= n * sizeof s_routes[0] || offset % sizeof s_routes[0] != 0)
        return s_method_lookup(r);
    size_t i = offset / sizeof s_routes[0];
    if (methods[i] == NULL)
        methods[i] = s_method_lookup(r);
    return methods[i];
}

int route_success_status(const route *r)
{
    return r->success_status ? r->success_status : 200;
}

static const char *s_problem(char *buf, size_t size, const route *r, const char *what)
{
    snprintf(buf, size, "%s %s → %s.%s: %s", r->method, r->path_template, r->service, r->rpc, what);
    return buf;
}

static bool s_field_is(const ProtobufCMessageDescriptor *d, const char *name, ProtobufCType type, bool repeated)
{
    const ProtobufCFieldDescriptor *f = pbjson_find_field(d, name);
    return f != NULL && f->type == type && (f->label == PROTOBUF_C_LABEL_REPEATED) == repeated;
}

const char *routes_check(const route *rows, size_t n, char *buf, size_t size)
{
    for (size_t i = 0; i < n; i++) {
        const route *r = &rows[i];
        if (routes_service(r->service) == NULL)
            return s_problem(buf, size, r, "неизвестная служба");
        const ProtobufCMethodDescriptor *rpc = route_method(r);
        if (rpc == NULL)
            return s_problem(buf, size, r, "такого rpc нет в proto-описании службы");
        const ProtobufCMessageDescriptor *in = rpc->input, *out = rpc->output;
        if (strstr(r->path_template, "{id}") && !s_field_is(in, "id", PROTOBUF_C_TYPE_STRING, false))
            return s_problem(buf, size, r, "у запроса нет строкового поля id для {id}");
        if ((r->flags & ROUTE_IF_MATCH) && !s_field_is(in, "expected_version", PROTOBUF_C_TYPE_INT64, false))
            return s_problem(buf, size, r, "If-Match без поля expected_version");
        if ((r->flags & ROUTE_MASK) && !s_field_is(in, "update_mask", PROTOBUF_C_TYPE_STRING, true))
            return s_problem(buf, size, r, "ROUTE_MASK без поля update_mask");
        if ((r->flags & ROUTE_TOKEN) && !s_field_is(in, "token", PROTOBUF_C_TYPE_STRING, false))
            return s_problem(buf, size, r, "ROUTE_TOKEN без поля token");
        if (r->body_field != NULL) {
            const ProtobufCFieldDescriptor *f = pbjson_find_field(in, r->body_field);
            if (f == NULL || f->type != PROTOBUF_C_TYPE_MESSAGE || f->descriptor != out)
                return s_problem(buf, size, r, "тело запроса — не та сущность, что возвращает rpc");
        }
        if ((r->flags & ROUTE_CREATE) && !s_field_is(out, "id", PROTOBUF_C_TYPE_STRING, false))
            return s_problem(buf, size, r, "ROUTE_CREATE, а у ответа нет поля id");
        if ((r->flags & ROUTE_CSV_IN) &&
            (!s_field_is(in, "csv", PROTOBUF_C_TYPE_BYTES, false) || (r->flags & ROUTE_BODY)))
            return s_problem(buf, size, r, "ROUTE_CSV_IN без байтового поля csv (или вместе с ROUTE_BODY)");
        if ((r->flags & ROUTE_CSV_OUT) && !s_field_is(out, "csv", PROTOBUF_C_TYPE_BYTES, false))
            return s_problem(buf, size, r, "ROUTE_CSV_OUT без байтового поля csv в ответе");
        if ((r->flags & ROUTE_FILE_OUT) && !s_field_is(out, "file", PROTOBUF_C_TYPE_MESSAGE, false))
            return s_problem(buf, size, r, "ROUTE_FILE_OUT без поля file (FileBody) в ответе");
        if (r->flags & ROUTE_QUERY)
            for (unsigned k = 0; k < in->n_fields; k++)
                if (in->fields[k].type == PROTOBUF_C_TYPE_MESSAGE)
                    return s_problem(buf, size, r, "параметры запроса не задают вложенных сообщений");
        for (size_t j = 0; j < i; j++)
            if (strcmp(rows[j].method, r->method) == 0 && strcmp(rows[j].path_template, r->path_template) == 0)
                return s_problem(buf, size, r, "два ряда с одним методом и путём");
    }
    return NULL;
}

size_t routes_max_body_bytes(void)
{
    size_t max = 0;
    for (size_t i = 0; i < sizeof s_routes / sizeof s_routes[0]; i++)
        if (s_routes[i].max_body_bytes > max)
            max = s_routes[i].max_body_bytes;
    return max;
}

const route *routes_table(size_t *count)
{
    *count = sizeof s_routes / sizeof s_routes[0];
    return s_routes;
}

static int s_hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int routes_percent_decode(const char *src, size_t len, char *dst, size_t size, bool plus_is_space)
{
    size_t o = 0;
    if (size == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)src[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int h = s_hex((unsigned char)src[i + 1]), l = s_hex((unsigned char)src[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            c = h * 16 + l;
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c == 0 || o + 1 >= size)
            return -1;
        dst[o++] = (char)c;
    }
    dst[o] = '\0';
    return (int)o;
}

/* Next '/'-separated segment of [*p, end); false at the end. */
static bool s_next_segment(const char **p, const char *end, const char **seg, size_t *seg_len)
{
    if (*p >= end)
        return false;
    if (**p == '/')
        (*p)++;
    const char *s = *p;
    while (*p < end && **p != '/')
        (*p)++;
    *seg = s;
    *seg_len = (size_t)(*p - s);
    return true;
}

/* Matches path against one template; fills params. */
static bool s_template_matches(const char *tpl, const char *path, size_t path_len, route_match *out)
{
    const char *tp = tpl, *tend = tpl + strlen(tpl);
    const char *pp = path, *pend = path + path_len;
    size_t n = 0;
    if (path_len == 0 || path[0] != '/')
        return false;
    /* one trailing slash is tolerated ("/api/v1/staff/") */
    if (pend - pp > 1 && pend[-1] == '/')
        pend--;
    for (;;) {
        const char *ts = NULL, *ps = NULL;
        size_t tl = 0, pl = 0;
        bool th = s_next_segment(&tp, tend, &ts, &tl);
        bool ph = s_next_segment(&pp, pend, &ps, &pl);
        if (!th || !ph) {
            if (th != ph)
                return false;
            break;
        }
        if (tl >= 2 && ts[0] == '{' && ts[tl - 1] == '}') {
            if (pl == 0 || n >= ROUTES_MAX_PARAMS)
                return false;
            route_param *param = &out->params[n];
            if (routes_percent_decode(ps, pl, param->value, sizeof param->value, false) <= 0)
                return false;
            if (strchr(param->value, '/') != NULL)
                return false;
            param->name = ts + 1;
            param->name_len = tl - 2;
            n++;
        } else if (tl != pl || memcmp(ts, ps, tl) != 0) {
            return false;
        }
    }
    out->n_params = n;
    return true;
}

/* The shape of a path for the quick test before a template is matched: its number of segments and
 * its third one (the collection: "staff" of /api/v1/staff/…). */
typedef struct {
    size_t n_segments;
    const char *collection; /* NULL: the third segment is a parameter (or there is none) */
    size_t collection_len;
} s_shape;

static s_shape s_shape_of(const char *path, size_t path_len, bool is_template)
{
    s_shape shape = {0, NULL, 0};
    const char *p = path, *end = path + path_len, *seg;
    size_t len;
    if (end - p > 1 && end[-1] == '/') /* the trailing slash s_template_matches tolerates */
        end--;
    while (s_next_segment(&p, end, &seg, &len)) {
        if (shape.n_segments == 2 && !(is_template && len >= 2 && seg[0] == '{' && seg[len - 1] == '}')) {
            shape.collection = seg;
            shape.collection_len = len;
        }
        shape.n_segments++;
    }
    return shape;
}

static s_shape *s_route_shapes;
static pthread_once_t s_route_shapes_once = PTHREAD_ONCE_INIT;

static void s_route_shapes_build(void)
{
    size_t count;
    const route *table = routes_table(&count);
    s_route_shapes = xcalloc(count + 1, sizeof *s_route_shapes);
    for (size_t i = 0; i < count; i++)
        s_route_shapes[i] = s_shape_of(table[i].path_template, strlen(table[i].path_template), true);
}

/* Could the template of shape t match a path of shape p? false only where s_template_matches is sure
 * to say no (another number of segments, another literal collection). */
static bool s_shape_fits(const s_shape *t, const s_shape *p)
{
    if (t->n_segments != p->n_segments)
        return false;
    return t->collection == NULL || (p->collection && t->collection_len == p->collection_len &&
                                     memcmp(t->collection, p->collection, t->collection_len) == 0);
}

routes_match_result routes_match(const char *method, size_t method_len, const char *path, size_t path_len,
                                 route_match *out)
{
    out->route = NULL;
    out->n_params = 0;
    out->allow[0] = '\0';
    bool path_known = false;
    size_t count;
    const route *table = routes_table(&count);
    pthread_once(&s_route_shapes_once, s_route_shapes_build);
    s_shape shape = s_shape_of(path, path_len, false);
    route_match candidate;
    for (size_t i = 0; i < count; i++) {
        if (!s_shape_fits(&s_route_shapes[i], &shape))
            continue;
        candidate.n_params = 0;
        if (!s_template_matches(table[i].path_template, path, path_len, &candidate))
            continue;
        if (strlen(table[i].method) == method_len && memcmp(table[i].method, method, method_len) == 0) {
            memcpy(out->params, candidate.params, candidate.n_params * sizeof candidate.params[0]);
            out->n_params = candidate.n_params;
            out->route = &table[i];
            return ROUTES_FOUND;
        }
        if (!path_known || strstr(out->allow, table[i].method) == NULL) {
            size_t used = strlen(out->allow);
            snprintf(out->allow + used, sizeof out->allow - used, "%s%s", used ? ", " : "", table[i].method);
        }
        path_known = true;
    }
    return path_known ? ROUTES_METHOD_NOT_ALLOWED : ROUTES_NOT_FOUND;
}

/* One element of an If-Match list, blanks trimmed: 1 with *version for a strong tag that can be
 * one of ours, 0 for a well-formed tag that matches none of them, 2 for "*", -1 when malformed. */
static int s_if_match_element(const char *p, const char *end, long long *version)
{
    if (end - p == 1 && *p == '*')
        return 2;
    bool weak = false;
    if (end - p >= 2 && p[0] == 'W' && p[1] == '/') {
        weak = true;
        p += 2;
    }
    bool quoted = end - p >= 2 && *p == '"' && end[-1] == '"';
    if (quoted) {
        p++;
        end--;
    } else if (weak || p == end) {
        return -1; /* W/ needs a quoted tag; a bare version is accepted (older clients send 3) */
    }
    bool digits = p < end && end - p <= 18;
    long long v = 0;
    for (const char *c = p; c < end; c++) {
        if (*c == '"' || (unsigned char)*c < 0x21 || *c == 0x7f)
            return -1; /* not an etagc */
        if (*c < '0' || *c > '9')
            digits = false;
        else if (digits)
            v = v * 10 + (*c - '0');
    }
    if (!quoted && !digits)
        return -1;
    /* strong comparison: a weak tag never matches, nor a tag that is not a version ≥ 1 */
    if (weak || !digits || v == 0)
        return 0;
    *version = v;
    return 1;
}

int routes_parse_if_match(const char *value, size_t len, long long *version)
{
    const char *p = value, *end = value + len;
    long long found = -1;
    bool any = false, elements = false;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        if (p == end)
            break;
        const char *e = p;
        bool in_quotes = false;
        while (e < end && (in_quotes || *e != ',')) {
            if (*e == '"')
                in_quotes = !in_quotes;
            e++;
        }
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        long long v = 0;
        int kind = s_if_match_element(p, t, &v);
        if (kind < 0)
            return -1;
        elements = true;
        if (kind == 2)
            any = true;
        else if (kind == 1 && found != -1 && found != v)
            return -2;
        else if (kind == 1)
            found = v;
        p = e;
    }
    if (!elements)
        return -1;
    *version = any ? 0 : found != -1 ? found : ROUTES_VERSION_NONE;
    return 0;
}

static void s_error(routes_error *err, const char *field, const char *description)
{
    snprintf(err->field, sizeof err->field, "%s", field);
    snprintf(err->description, sizeof err->description, "%s", description);
}

static void s_error_from_pbjson(routes_error *err, const pbjson_error *pe)
{
    s_error(err, pe->path, pe->message);
}

static ProtobufCMessage *s_new_message(const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *m = malloc(desc->sizeof_message);
    if (m != NULL)
        protobuf_c_message_init(desc, m);
    return m;
}

/* Sets request field from a path parameter. */
static int s_apply_params(ProtobufCMessage *msg, const route_match *m, routes_error *err)
{
    for (size_t i = 0; i < m->n_params; i++) {
        char name[64];
        text_copy(name, sizeof name, m->params[i].name, m->params[i].name_len);
        pbjson_error pe = {{0}, {0}};
        if (pbjson_set_from_text(msg, name, m->params[i].value, &pe) != 0) {
            s_error(err, name, pe.message);
            return -1;
        }
    }
    return 0;
}

static bool s_is_path_param(const route_match *m, const ProtobufCFieldDescriptor *f)
{
    for (size_t i = 0; i < m->n_params; i++)
        if (strlen(f->name) == m->params[i].name_len && memcmp(f->name, m->params[i].name, m->params[i].name_len) == 0)
            return true;
    return false;
}

static int s_apply_query(ProtobufCMessage *msg, const route_match *m, const char *query, size_t len, routes_error *err)
{
    const char *p = query, *end = query + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pair_end = amp ? amp : end;
        if (pair_end > p) {
            const char *eq = memchr(p, '=', (size_t)(pair_end - p));
            const char *name_end = eq ? eq : pair_end;
            char name[128], value[1024];
            int name_len = routes_percent_decode(p, (size_t)(name_end - p), name, sizeof name, true);
            /* the name is put into the error text, which must stay UTF-8 */
            if (name_len < 0 || !utf8_valid(name, (size_t)name_len)) {
                s_error(err, "", "Некорректная кодировка имени параметра запроса");
                return -1;
            }
            const char *vstart = eq ? eq + 1 : pair_end;
            if (routes_percent_decode(vstart, (size_t)(pair_end - vstart), value, sizeof value, true) < 0) {
                s_error(err, name, "Некорректная кодировка или слишком длинное значение параметра запроса");
                return -1;
            }
            const ProtobufCFieldDescriptor *f =
                (m->route->flags & ROUTE_QUERY) ? pbjson_find_field(msg->descriptor, name) : NULL;
            if (f == NULL || f->type == PROTOBUF_C_TYPE_MESSAGE || s_is_path_param(m, f) ||
                ((m->route->flags & ROUTE_CSV_IN) && f->type == PROTOBUF_C_TYPE_BYTES)) {
                char text[512];
                snprintf(text, sizeof text, "Неизвестный параметр запроса «%s»", name);
                s_error(err, name, text);
                return -1;
            }
            /* page size: proto3 cannot tell "limit=0" from "no limit", so the range is checked here */
            if (strcmp(f->name, "limit") == 0) {
                char *num_end = NULL;
                long limit = strtol(value, &num_end, 10);
                if (num_end == value || *num_end != '\0' || limit < 1 || limit > 500) {
                    s_error(err, "limit", "Размер страницы limit — целое число от 1 до 500");
                    return -1;
                }
            }
            pbjson_error pe = {{0}, {0}};
            if (pbjson_set_from_text(msg, name, value, &pe) != 0) {
                s_error(err, name, pe.message);
                return -1;
            }
        }
        p = amp ? amp + 1 : end;
    }
    return 0;
}

/* update_mask = the body's top-level keys as proto names (keys were validated by the merge). */
static int s_apply_mask(ProtobufCMessage *msg, const ProtobufCMessageDescriptor *sub_desc, json_t *body,
                        routes_error *err)
{
    const ProtobufCFieldDescriptor *mask = pbjson_find_field(msg->descriptor, "update_mask");
    if (mask == NULL || mask->label != PROTOBUF_C_LABEL_REPEATED || mask->type != PROTOBUF_C_TYPE_STRING) {
        s_error(err, "", "Внутренняя ошибка: у запроса нет поля update_mask");
        return -1;
    }
    size_t n = json_object_size(body);
    char **items = n ? calloc(n, sizeof *items) : NULL;
    if (n && items == NULL) {
        s_error(err, "", "Недостаточно памяти");
        return -1;
    }
    size_t *count = (size_t *)((char *)msg + mask->quantifier_offset);
    char ***slot = (char ***)((char *)msg + mask->offset);
    *slot = items;
    *count = 0;
    const char *key;
    json_t *value;
    json_object_foreach(body, key, value)
    {
        (void)value;
        const ProtobufCFieldDescriptor *f = pbjson_find_field(sub_desc, key);
        if (f == NULL) {
            char text[512];
            snprintf(text, sizeof text, "Неизвестное поле «%s»", key);
            s_error(err, key, text);
            return -1;
        }
        items[*count] = strdup(f->name);
        if (items[*count] == NULL) {
            s_error(err, "", "Недостаточно памяти");
            return -1;
        }
        (*count)++;
    }
    return 0;
}

static int s_apply_body(ProtobufCMessage *msg, const route *r, const char *body, size_t len, routes_error *err)
{
    if (body == NULL || len == 0) {
        s_error(err, "", "Тело запроса пусто: ожидается объект JSON");
        return -1;
    }
    pbjson_error pe = {{0}, {0}};
    json_t *doc = pbjson_parse_object(body, len, NULL, &pe);
    if (doc == NULL) {
        s_error(err, "", pe.message);
        return -1;
    }
    ProtobufCMessage *target = msg;
    if (r->body_field != NULL) {
        const ProtobufCFieldDescriptor *f = pbjson_find_field(msg->descriptor, r->body_field);
        if (f == NULL || f->type != PROTOBUF_C_TYPE_MESSAGE || f->label == PROTOBUF_C_LABEL_REPEATED) {
            json_decref(doc);
            s_error(err, "", "Внутренняя ошибка: поле тела запроса не найдено");
            return -1;
        }
        target = s_new_message(f->descriptor);
        if (target == NULL) {
            json_decref(doc);
            s_error(err, "", "Недостаточно памяти");
            return -1;
        }
        *(ProtobufCMessage **)((char *)msg + f->offset) = target; /* owned by msg from here on */
    }
    int rc = pbjson_merge_object(target, doc, "", NULL, &pe);
    if (rc != 0)
        s_error_from_pbjson(err, &pe);
    if (rc == 0 && (r->flags & ROUTE_MASK))
        rc = s_apply_mask(msg, target->descriptor, doc, err);
    json_decref(doc);
    return rc;
}

ProtobufCMessage *routes_build_request(const route_match *m, const char *query, size_t query_len, const char *body,
                                       size_t body_len, const char *if_match, size_t if_match_len, routes_error *err)
{
    const route *r = m->route;
    memset(err, 0, sizeof *err);
    ProtobufCMessage *msg = s_new_message(route_method(r)->input);
    if (msg == NULL) {
        s_error(err, "", "Недостаточно памяти");
        return NULL;
    }
    if ((r->flags & ROUTE_BODY) && s_apply_body(msg, r, body, body_len, err) != 0)
        goto fail;
    if (r->flags & ROUTE_CSV_IN) {
        const ProtobufCFieldDescriptor *f = pbjson_find_field(msg->descriptor, "csv");
        if (f == NULL || f->type != PROTOBUF_C_TYPE_BYTES || f->label == PROTOBUF_C_LABEL_REPEATED) {
            s_error(err, "", "Внутренняя ошибка: у запроса нет поля csv");
            goto fail;
        }
        if (body == NULL || body_len == 0) {
            s_error(err, "", "Тело запроса пусто: ожидается файл CSV");
            goto fail;
        }
        ProtobufCBinaryData *bytes = (ProtobufCBinaryData *)((char *)msg + f->offset);
        bytes->data = malloc(body_len);
        if (bytes->data == NULL) {
            s_error(err, "", "Недостаточно памяти");
            goto fail;
        }
        memcpy(bytes->data, body, body_len);
        bytes->len = body_len;
    }
    if (query != NULL && query_len > 0 && s_apply_query(msg, m, query, query_len, err) != 0)
        goto fail;
    if (s_apply_params(msg, m, err) != 0)
        goto fail;
    if (if_match != NULL && (r->flags & ROUTE_IF_MATCH)) {
        long long version;
        char text[32];
        int parsed = routes_parse_if_match(if_match, if_match_len, &version);
        if (parsed == -2) {
            s_error(err, "If-Match", "Укажите в If-Match одну версию записи, например \"3\"");
            goto fail;
        }
        if (parsed != 0) {
            s_error(err, "If-Match", "Заголовок If-Match должен содержать версию записи, например \"3\", или *");
            goto fail;
        }
        snprintf(text, sizeof text, "%lld", version);
        pbjson_error pe = {{0}, {0}};
        if (pbjson_set_from_text(msg, "expected_version", text, &pe) != 0) {
            s_error(err, "If-Match", pe.message);
            goto fail;
        }
    }
    return msg;
fail:
    protobuf_c_message_free_unpacked(msg, NULL);
    return NULL;
}
