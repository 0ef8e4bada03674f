/* routes — the route table and the generic HTTP → protobuf request mapping (see routes.h).
 * Invariant: every row's descriptors carry the fields its flags rely on (id for "{id}",
 * expected_version for ROUTE_IF_MATCH, update_mask for ROUTE_MASK, body_field a message field);
 * test_gateway_routes checks this for the whole table. */
#include "routes.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "envelope.pb-c.h"
#include "pbjson.h"
#include "auth.pb-c.h"
#include "registry.pb-c.h"
#include "diagnostics.pb-c.h"
#include "registry_import.pb-c.h"

#define CRUD(plural, single_rpc, list_rpc, Single, ListReq, ListResp, entity_desc, field, what_gen, what_acc)          \
    {"POST",                                                                                                           \
     "/api/v1/" plural,                                                                                                \
     "registry",                                                                                                       \
     "Create" single_rpc,                                                                                              \
     &metodnet__create_##Single##_request__descriptor,                                                                 \
     &entity_desc,                                                                                                     \
     field,                                                                                                            \
     201,                                                                                                              \
     ROUTE_BODY | ROUTE_MASK | ROUTE_CREATE,                                                                           \
     "Создать " what_acc,                                                                                              \
     0,                                                                                                                \
     0},                                                                                                               \
        {"GET",       "/api/v1/" plural,   "registry", "List" list_rpc,                                                \
         &ListReq,    &ListResp,           NULL,       200,                                                            \
         ROUTE_QUERY, "Список: " what_gen, 0,          0},                                                             \
        {"GET",                                                                                                        \
         "/api/v1/" plural "/{id}",                                                                                    \
         "registry",                                                                                                   \
         "Get" single_rpc,                                                                                             \
         &metodnet__get_request__descriptor,                                                                           \
         &entity_desc,                                                                                                 \
         NULL,                                                                                                         \
         200,                                                                                                          \
         0,                                                                                                            \
         "Получить " what_acc " по идентификатору",                                                                    \
         0,                                                                                                            \
         0},                                                                                                           \
        {"PATCH",                                                                                                      \
         "/api/v1/" plural "/{id}",                                                                                    \
         "registry",                                                                                                   \
         "Update" single_rpc,                                                                                          \
         &metodnet__update_##Single##_request__descriptor,                                                             \
         &entity_desc,                                                                                                 \
         field,                                                                                                        \
         200,                                                                                                          \
         ROUTE_BODY | ROUTE_MASK | ROUTE_IF_MATCH,                                                                     \
         "Изменить " what_acc " (только переданные поля)",                                                             \
         0,                                                                                                            \
         0},                                                                                                           \
    {                                                                                                                  \
        "DELETE", "/api/v1/" plural "/{id}", "registry", "Delete" single_rpc, &metodnet__delete_request__descriptor,   \
            &metodnet__delete_response__descriptor, NULL, 200, ROUTE_IF_MATCH, "Удалить " what_acc, 0, 0               \
    }

#define REG_ROUTE(method, path, rpc, request, response, body_field, status, flags, summary)                            \
    {                                                                                                                  \
        method, path, "registry", rpc, &request, &response, body_field, status, flags, summary, 0, 0                   \
    }

#define AUTH_ROUTE(method, path, rpc, request, response, status, flags, summary)                                       \
    {                                                                                                                  \
        method, path, "auth", rpc, &request, &response, NULL, status, flags, summary, 0, 0                             \
    }

#define IMPORT_MAX_BODY   (32u * 1024 * 1024)
#define IMPORT_TIMEOUT_MS 300000u
#define EXPORT_TIMEOUT_MS 120000u

/* GET /api/v1/export/<plural>: the list's query parameters, a CSV file for Excel */
#define EXPORT_ROUTE(plural, rpc, request, summary)                                                                    \
    {                                                                                                                  \
        "GET", "/api/v1/export/" plural, "registry", rpc, &metodnet__##request##__descriptor,                          \
            &metodnet__csv_file__descriptor, NULL, 200, ROUTE_QUERY | ROUTE_CSV_OUT, summary, 0, EXPORT_TIMEOUT_MS     \
    }

#define DIAG_ROUTE(method, path, rpc, request, response, body_field, status, flags, summary)                           \
    {                                                                                                                  \
        method, path, "diagnostics", rpc, &metodnet__##request##__descriptor, &metodnet__##response##__descriptor,     \
            body_field, status, flags, summary, 0, 0                                                                   \
    }

static const route s_routes[] = {
    AUTH_ROUTE("POST", "/api/v1/auth/login", "Login", metodnet__login_request__descriptor,
               metodnet__login_response__descriptor, 200, ROUTE_BODY | ROUTE_PUBLIC | ROUTE_SECRET,
               "Вход: логин и пароль → токен сеанса (30 мин без действий, не более 8 ч)"),
    AUTH_ROUTE("POST", "/api/v1/auth/logout", "Logout", metodnet__logout_request__descriptor,
               metodnet__logout_response__descriptor, 200, ROUTE_TOKEN, "Выход: токен сеанса перестаёт действовать"),
    AUTH_ROUTE("GET", "/api/v1/me", "Me", metodnet__me_request__descriptor, metodnet__user__descriptor, 200, 0,
               "Текущий пользователь"),
    AUTH_ROUTE("POST", "/api/v1/users", "CreateUser", metodnet__create_user_request__descriptor,
               metodnet__user__descriptor, 201, ROUTE_BODY | ROUTE_CREATE | ROUTE_SECRET,
               "Создать пользователя в своей области и с ролью ниже своей"),
    AUTH_ROUTE("GET", "/api/v1/users", "ListUsers", metodnet__list_users_request__descriptor,
               metodnet__list_users_response__descriptor, 200, ROUTE_QUERY, "Список пользователей своей области"),
    AUTH_ROUTE("GET", "/api/v1/users/{id}", "GetUser", metodnet__get_request__descriptor, metodnet__user__descriptor,
               200, 0, "Пользователь по идентификатору"),
    AUTH_ROUTE("POST", "/api/v1/users/{id}/status", "SetUserDisabled", metodnet__set_user_disabled_request__descriptor,
               metodnet__user__descriptor, 200, ROUTE_BODY,
               "Отключить или снова включить пользователя ({\"disabled\":true})"),
    AUTH_ROUTE("POST", "/api/v1/users/{id}/password", "ResetPassword", metodnet__reset_password_request__descriptor,
               metodnet__user__descriptor, 200, ROUTE_BODY | ROUTE_SECRET, "Задать пользователю новый пароль"),
    AUTH_ROUTE("POST", "/api/v1/api-keys", "CreateApiKey", metodnet__create_api_key_request__descriptor,
               metodnet__create_api_key_response__descriptor, 201, ROUTE_BODY | ROUTE_SECRET,
               "Выдать API-ключ школьной информационной системе (показывается один раз)"),
    AUTH_ROUTE("GET", "/api/v1/api-keys", "ListApiKeys", metodnet__list_api_keys_request__descriptor,
               metodnet__list_api_keys_response__descriptor, 200, ROUTE_QUERY, "Список API-ключей своей области"),
    AUTH_ROUTE("DELETE", "/api/v1/api-keys/{id}", "RevokeApiKey", metodnet__revoke_api_key_request__descriptor,
               metodnet__api_key__descriptor, 200, 0, "Отозвать API-ключ"),
    AUTH_ROUTE("GET", "/api/v1/audit", "ListAudit", metodnet__list_audit_request__descriptor,
               metodnet__list_audit_response__descriptor, 200, ROUTE_QUERY,
               "Журнал аудита (администратор региона): кто, что и когда читал и менял"),
    CRUD("regions", "Region", "Regions", region, metodnet__list_regions_request__descriptor,
         metodnet__list_regions_response__descriptor, metodnet__region__descriptor, "region", "регионы", "регион"),
    CRUD("municipalities", "Municipality", "Municipalities", municipality,
         metodnet__list_municipalities_request__descriptor, metodnet__list_municipalities_response__descriptor,
         metodnet__municipality__descriptor, "municipality", "муниципальные образования", "муниципальное образование"),
    CRUD("organizations", "Organization", "Organizations", organization,
         metodnet__list_organizations_request__descriptor, metodnet__list_organizations_response__descriptor,
         metodnet__organization__descriptor, "organization", "образовательные организации",
         "образовательную организацию"),
    CRUD("staff", "Staff", "Staff", staff, metodnet__list_staff_request__descriptor,
         metodnet__list_staff_response__descriptor, metodnet__staff_member__descriptor, "staff",
         "педагогические и управленческие кадры", "сотрудника"),
    DIAG_ROUTE("GET", "/api/v1/competences", "ListFrameworks", list_frameworks_request, list_frameworks_response, NULL,
               200, ROUTE_QUERY, "Рамки компетенций региона: педагогов и руководителей"),
    DIAG_ROUTE("GET", "/api/v1/competences/{id}", "GetFramework", get_request, competence_framework, NULL, 200, 0,
               "Рамка компетенций («07-teacher», «07-manager»)"),
    DIAG_ROUTE("PATCH", "/api/v1/competences/{id}", "UpdateFramework", update_framework_request, competence_framework,
               "framework", 200, ROUTE_BODY | ROUTE_MASK | ROUTE_IF_MATCH,
               "Изменить рамку компетенций (администратор региона); версия растёт"),
    DIAG_ROUTE("POST", "/api/v1/instruments", "CreateInstrument", create_instrument_request, instrument, "instrument",
               201, ROUTE_BODY | ROUTE_MASK | ROUTE_CREATE, "Создать диагностический инструмент"),
    DIAG_ROUTE("GET", "/api/v1/instruments", "ListInstruments", list_instruments_request, list_instruments_response,
               NULL, 200, ROUTE_QUERY, "Список диагностических инструментов"),
    DIAG_ROUTE("GET", "/api/v1/instruments/{id}", "GetInstrument", get_request, instrument, NULL, 200, 0,
               "Диагностический инструмент (без ключей оценивания для проходящих диагностику)"),
    DIAG_ROUTE("PATCH", "/api/v1/instruments/{id}", "UpdateInstrument", update_instrument_request, instrument,
               "instrument", 200, ROUTE_BODY | ROUTE_MASK | ROUTE_IF_MATCH,
               "Изменить инструмент (задания нельзя менять, пока идёт открытая кампания)"),
    DIAG_ROUTE("POST", "/api/v1/diagnostics/campaigns", "CreateCampaign", create_campaign_request, campaign, "campaign",
               201, ROUTE_BODY | ROUTE_MASK | ROUTE_CREATE, "Создать диагностическую кампанию (черновик)"),
    DIAG_ROUTE("GET", "/api/v1/diagnostics/campaigns", "ListCampaigns", list_campaigns_request, list_campaigns_response,
               NULL, 200, ROUTE_QUERY, "Список диагностических кампаний"),
    DIAG_ROUTE("GET", "/api/v1/diagnostics/campaigns/{id}", "GetCampaign", get_request, campaign, NULL, 200, 0,
               "Диагностическая кампания"),
    DIAG_ROUTE("PATCH", "/api/v1/diagnostics/campaigns/{id}", "UpdateCampaign", update_campaign_request, campaign,
               "campaign", 200, ROUTE_BODY | ROUTE_MASK | ROUTE_IF_MATCH,
               "Изменить кампанию (открытую — только название и срок окончания)"),
    DIAG_ROUTE("POST", "/api/v1/diagnostics/campaigns/{id}/open", "OpenCampaign", campaign_action_request, campaign,
               NULL, 200, ROUTE_IF_MATCH, "Открыть кампанию: назначить диагностику всем адресатам из реестра"),
    DIAG_ROUTE("POST", "/api/v1/diagnostics/campaigns/{id}/close", "CloseCampaign", campaign_action_request, campaign,
               NULL, 200, ROUTE_IF_MATCH, "Закрыть кампанию: ответы больше не принимаются"),
    DIAG_ROUTE("GET", "/api/v1/diagnostics/campaigns/{id}/progress", "GetCampaignProgress", get_request,
               campaign_progress, NULL, 200, 0, "Ход кампании по организациям: назначено, начато, завершено"),
    DIAG_ROUTE("POST", "/api/v1/diagnostics/attempts", "StartAttempt", start_attempt_request, attempt, NULL, 200,
               ROUTE_BODY, "Начать диагностику ({\"campaignId\", \"staffId\"})"),
    DIAG_ROUTE("GET", "/api/v1/diagnostics/attempts", "ListAttempts", list_attempts_request, list_attempts_response,
               NULL, 200, ROUTE_QUERY, "Попытки кампании (campaignId) в своей области"),
    DIAG_ROUTE("GET", "/api/v1/diagnostics/attempts/{id}", "GetAttempt", get_request, attempt, NULL, 200, 0,
               "Попытка диагностики"),
    DIAG_ROUTE("PATCH", "/api/v1/diagnostics/attempts/{id}", "SaveAnswers", save_answers_request, attempt, NULL, 200,
               ROUTE_BODY | ROUTE_IF_MATCH, "Сохранить ответы (без сдачи)"),
    DIAG_ROUTE("POST", "/api/v1/diagnostics/attempts/{id}/submit", "SubmitAttempt", submit_attempt_request, attempt,
               NULL, 200, ROUTE_BODY,
               "Сдать диагностику: оценивание на сервере; ответ — попытка с результатом, без ответов (они в GET); "
               "повторная сдача ничего не меняет"),
    DIAG_ROUTE("GET", "/api/v1/diagnostics/results", "ListResults", list_results_request, list_results_response, NULL,
               200, ROUTE_QUERY, "Результаты диагностики в своей области (по сотруднику, кампании, дефициту)"),
    DIAG_ROUTE("GET", "/api/v1/diagnostics/results/{id}", "GetResult", get_request, result, NULL, 200, 0,
               "Результат диагностики: баллы по компетенциям, дефициты, сильные стороны"),
    DIAG_ROUTE("GET", "/api/v1/staff/{id}/competence-profile", "GetCompetenceProfile", get_profile_request,
               competence_profile, NULL, 200, 0, "Профиль компетенций сотрудника с историей результатов"),
    DIAG_ROUTE("GET", "/api/v1/staff/{id}/route", "GetRoute", get_route_request, route, NULL, 200, 0,
               "Индивидуальный образовательный маршрут (просроченные пункты, закрытые дефициты)"),
    DIAG_ROUTE("POST", "/api/v1/staff/{id}/route", "GenerateRoute", generate_route_request, route, NULL, 200,
               ROUTE_BODY | ROUTE_IF_MATCH, "Составить маршрут по дефицитам последнего результата (черновик)"),
    DIAG_ROUTE("PATCH", "/api/v1/staff/{id}/route", "UpdateRoute", update_route_request, route, "route", 200,
               ROUTE_BODY | ROUTE_MASK | ROUTE_IF_MATCH, "Изменить пункты черновика маршрута"),
    DIAG_ROUTE("POST", "/api/v1/staff/{id}/route/approve", "ApproveRoute", approve_route_request, route, NULL, 200,
               ROUTE_IF_MATCH, "Утвердить маршрут"),
    DIAG_ROUTE("POST", "/api/v1/staff/{id}/route/items/{item_id}/status", "SetRouteItemStatus",
               set_route_item_status_request, route, NULL, 200, ROUTE_BODY | ROUTE_IF_MATCH,
               "Сменить состояние пункта маршрута (выполненная программа → запись о повышении квалификации)"),
    CRUD("associations", "Association", "Associations", association, metodnet__list_associations_request__descriptor,
         metodnet__list_associations_response__descriptor, metodnet__association__descriptor, "association",
         "методические объединения и профессиональные сообщества", "объединение"),
    REG_ROUTE("POST", "/api/v1/associations/{association_id}/members", "CreateMembership",
              metodnet__create_membership_request__descriptor, metodnet__association_membership__descriptor,
              "membership", 201, ROUTE_BODY | ROUTE_MASK,
              "Принять сотрудника в объединение (staffId, joinedOn); повторное вступление — новая запись"),
    REG_ROUTE("GET", "/api/v1/associations/{association_id}/members", "ListMemberships",
              metodnet__list_memberships_request__descriptor, metodnet__list_memberships_response__descriptor, NULL,
              200, ROUTE_QUERY, "История членства в объединении (on — состав на дату, from/to — за период)"),
    REG_ROUTE("POST", "/api/v1/associations/{association_id}/members/{membership_id}/leave", "LeaveMembership",
              metodnet__leave_membership_request__descriptor, metodnet__association_membership__descriptor, NULL, 200,
              ROUTE_BODY | ROUTE_IF_MATCH, "Отметить выход сотрудника из объединения (leftOn — первый день вне)"),
    REG_ROUTE("GET", "/api/v1/memberships/{id}", "GetMembership", metodnet__get_request__descriptor,
              metodnet__association_membership__descriptor, NULL, 200, 0, "Запись о членстве по идентификатору"),
    REG_ROUTE("GET", "/api/v1/staff/{staff_id}/memberships", "ListStaffMemberships",
              metodnet__list_memberships_request__descriptor, metodnet__list_memberships_response__descriptor, NULL,
              200, ROUTE_QUERY, "Членство сотрудника в объединениях (on — на дату, from/to — за период)"),
    CRUD("councils", "Council", "Councils", council, metodnet__list_councils_request__descriptor,
         metodnet__list_councils_response__descriptor, metodnet__council__descriptor, "council", "методические советы",
         "методический совет"),
    REG_ROUTE("POST", "/api/v1/councils/{council_id}/meetings", "CreateCouncilMeeting",
              metodnet__create_council_meeting_request__descriptor, metodnet__council_meeting__descriptor, "meeting",
              201, ROUTE_BODY | ROUTE_MASK, "Записать заседание совета: дата, повестка, участники, решения"),
    REG_ROUTE("GET", "/api/v1/councils/{council_id}/meetings", "ListCouncilMeetings",
              metodnet__list_council_meetings_request__descriptor, metodnet__list_council_meetings_response__descriptor,
              NULL, 200, ROUTE_QUERY, "Заседания совета по дате (from/to)"),
    REG_ROUTE("GET", "/api/v1/council-meetings/{id}", "GetCouncilMeeting", metodnet__get_request__descriptor,
              metodnet__council_meeting__descriptor, NULL, 200, 0, "Заседание совета по идентификатору"),
    REG_ROUTE("PATCH", "/api/v1/council-meetings/{id}", "UpdateCouncilMeeting",
              metodnet__update_council_meeting_request__descriptor, metodnet__council_meeting__descriptor, "meeting",
              200, ROUTE_BODY | ROUTE_MASK | ROUTE_IF_MATCH, "Изменить заседание совета (только переданные поля)"),
    REG_ROUTE("DELETE", "/api/v1/council-meetings/{id}", "DeleteCouncilMeeting", metodnet__delete_request__descriptor,
              metodnet__delete_response__descriptor, NULL, 200, ROUTE_IF_MATCH, "Удалить заседание совета"),
    CRUD("programmes", "Programme", "Programmes", programme, metodnet__list_programmes_request__descriptor,
         metodnet__list_programmes_response__descriptor, metodnet__programme__descriptor, "programme",
         "каталог программ повышения квалификации (q — слова названия, competence, tag, federalRegistry)",
         "программу повышения квалификации"),
    REG_ROUTE("POST", "/api/v1/qualification-records", "CreateQualificationRecord",
              metodnet__create_qualification_record_request__descriptor, metodnet__qualification_record__descriptor,
              "record", 201, ROUTE_BODY | ROUTE_MASK | ROUTE_CREATE,
              "Записать пройденное обучение (повторная запись по тому же routeItemId возвращает существующую)"),
    REG_ROUTE("GET", "/api/v1/qualification-records", "ListQualificationRecords",
              metodnet__list_qualification_records_request__descriptor,
              metodnet__list_qualification_records_response__descriptor, NULL, 200, ROUTE_QUERY,
              "Записи о повышении квалификации"),
    REG_ROUTE("GET", "/api/v1/qualification-records/{id}", "GetQualificationRecord", metodnet__get_request__descriptor,
              metodnet__qualification_record__descriptor, NULL, 200, 0,
              "Запись о повышении квалификации по идентификатору"),
    REG_ROUTE("DELETE", "/api/v1/qualification-records/{id}", "DeleteQualificationRecord",
              metodnet__delete_request__descriptor, metodnet__delete_response__descriptor, NULL, 200, ROUTE_IF_MATCH,
              "Удалить запись о повышении квалификации"),
    REG_ROUTE("GET", "/api/v1/staff/{staff_id}/qualification-records", "ListStaffQualificationRecords",
              metodnet__list_qualification_records_request__descriptor,
              metodnet__list_qualification_records_response__descriptor, NULL, 200, ROUTE_QUERY,
              "Повышение квалификации сотрудника"),
    CRUD("practices", "Practice", "Practices", practice, metodnet__list_practices_request__descriptor,
         metodnet__list_practices_response__descriptor, metodnet__practice__descriptor, "practice",
         "банк эффективных практик (q — слова названия, subject, competence, status)", "практику"),
    REG_ROUTE("POST", "/api/v1/practices/{id}/review", "ReviewPractice", metodnet__review_practice_request__descriptor,
              metodnet__practice__descriptor, NULL, 200, ROUTE_BODY | ROUTE_IF_MATCH,
              "Экспертиза практики: action = start | publish | reject (с comment) | resubmit"),
    /* import and export (CSV in, CSV out): larger bodies and longer deadlines for these rows only */
    {"POST", "/api/v1/import/organizations", "registry", "ImportOrganizations", &metodnet__import_request__descriptor,
     &metodnet__import_report__descriptor, NULL, 200, ROUTE_CSV_IN | ROUTE_QUERY,
     "Импорт организаций из CSV (UTF-8 или Windows-1251, «;» или «,»): создаёт и обновляет по внешнему "
     "идентификатору; dryRun=true — только проверка",
     IMPORT_MAX_BODY, IMPORT_TIMEOUT_MS},
    {"POST", "/api/v1/import/staff", "registry", "ImportStaff", &metodnet__import_request__descriptor,
     &metodnet__import_report__descriptor, NULL, 200, ROUTE_CSV_IN | ROUTE_QUERY,
     "Импорт сотрудников из CSV: создаёт и обновляет по внешнему идентификатору (СНИЛС или код региона); "
     "dryRun=true — только проверка",
     IMPORT_MAX_BODY, IMPORT_TIMEOUT_MS},
    {"GET", "/api/v1/import/templates/organizations.csv", "registry", "ImportTemplateOrganizations",
     &metodnet__import_template_request__descriptor, &metodnet__csv_file__descriptor, NULL, 200, ROUTE_CSV_OUT,
     "Шаблон CSV для импорта организаций", 0, 0},
    {"GET", "/api/v1/import/templates/staff.csv", "registry", "ImportTemplateStaff",
     &metodnet__import_template_request__descriptor, &metodnet__csv_file__descriptor, NULL, 200, ROUTE_CSV_OUT,
     "Шаблон CSV для импорта сотрудников", 0, 0},
    {"GET", "/api/v1/export/organizations", "registry", "ExportOrganizations",
     &metodnet__list_organizations_request__descriptor, &metodnet__csv_file__descriptor, NULL, 200,
     ROUTE_QUERY | ROUTE_CSV_OUT, "Выгрузка организаций в CSV для Excel (те же фильтры, что у списка)", 0,
     EXPORT_TIMEOUT_MS},
    {"GET", "/api/v1/export/staff", "registry", "ExportStaff", &metodnet__list_staff_request__descriptor,
     &metodnet__csv_file__descriptor, NULL, 200, ROUTE_QUERY | ROUTE_CSV_OUT,
     "Выгрузка сотрудников в CSV для Excel (те же фильтры, что у списка)", 0, EXPORT_TIMEOUT_MS},
    EXPORT_ROUTE("municipalities", "ExportMunicipalities", list_municipalities_request,
                 "Выгрузка муниципальных образований в CSV для Excel (те же фильтры, что у списка)"),
    EXPORT_ROUTE("associations", "ExportAssociations", list_associations_request,
                 "Выгрузка методических объединений и сообществ в CSV (те же фильтры, что у списка)"),
    EXPORT_ROUTE("memberships", "ExportMemberships", list_memberships_request,
                 "Выгрузка членства в объединениях в CSV (associationId или staffId, on, from/to — как у списков)"),
    EXPORT_ROUTE("councils", "ExportCouncils", list_councils_request,
                 "Выгрузка методических советов в CSV (те же фильтры, что у списка)"),
    EXPORT_ROUTE("council-meetings", "ExportCouncilMeetings", list_council_meetings_request,
                 "Выгрузка заседаний советов в CSV (councilId, from/to — как у списка)"),
    EXPORT_ROUTE("programmes", "ExportProgrammes", list_programmes_request,
                 "Выгрузка каталога программ в CSV (те же фильтры, что у списка)"),
    EXPORT_ROUTE("qualification-records", "ExportQualificationRecords", list_qualification_records_request,
                 "Выгрузка записей о повышении квалификации в CSV (те же фильтры, что у списка)"),
    EXPORT_ROUTE("practices", "ExportPractices", list_practices_request,
                 "Выгрузка банка практик в CSV (те же фильтры, что у списка)"),
    {"POST", "/api/v1/diagnostics/results/import", "diagnostics", "ImportResults",
     &metodnet__import_results_request__descriptor, &metodnet__import_report__descriptor, NULL, 200,
     ROUTE_CSV_IN | ROUTE_QUERY,
     "Импорт результатов внешнего диагностического центра из CSV (campaignId — кампания независимой диагностики): "
     "баллы по компетенциям на человека, повторный импорт не создаёт дублей; dryRun=true — только проверка",
     IMPORT_MAX_BODY, IMPORT_TIMEOUT_MS},
    {"GET", "/api/v1/diagnostics/results/import/template.csv", "diagnostics", "ImportResultsTemplate",
     &metodnet__import_results_template_request__descriptor, &metodnet__csv_file__descriptor, NULL, 200,
     ROUTE_QUERY | ROUTE_CSV_OUT, "Шаблон CSV результатов для инструмента кампании (campaignId)", 0, 0},
};

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

routes_match_result routes_match(const char *method, size_t method_len, const char *path, size_t path_len,
                                 route_match *out)
{
    memset(out, 0, sizeof *out);
    bool path_known = false;
    size_t count;
    const route *table = routes_table(&count);
    route_match candidate;
    for (size_t i = 0; i < count; i++) {
        memset(&candidate, 0, sizeof candidate);
        if (!s_template_matches(table[i].path_template, path, path_len, &candidate))
            continue;
        if (strlen(table[i].method) == method_len && memcmp(table[i].method, method, method_len) == 0) {
            *out = candidate;
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
        snprintf(name, sizeof name, "%.*s", (int)m->params[i].name_len, m->params[i].name);
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
            if (routes_percent_decode(p, (size_t)(name_end - p), name, sizeof name, true) < 0) {
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
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        char text[512];
        snprintf(text, sizeof text, "Некорректный JSON (строка %d, позиция %d): %s", jerr.line, jerr.column, jerr.text);
        s_error(err, "", text);
        return -1;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        s_error(err, "", "Тело запроса должно быть объектом JSON");
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
    pbjson_error pe = {{0}, {0}};
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
    ProtobufCMessage *msg = s_new_message(r->request);
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
