/* gen_staff — writes N staff members of one organization straight into Redis, as the registry
 * would store them (entity hash, indexes, external-id claims and the id sequence, from the registry's
 * own layout of a staff member), as a RESP command stream for `redis-cli --pipe`. For tests and
 * measurements that need a store of real size quickly (no domain events, no audit entries).
 *
 *   metodnet-gen-staff --region 07 --municipality 07-m1 --organization 07-o1 --count 100000 [--first 1]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool_args.h"
#include "registry.pb-c.h"
#include "registry_kinds.h"

static void s_bulk(FILE *out, const void *data, size_t len)
{
    fprintf(out, "$%zu\r\n", len);
    fwrite(data, 1, len, out);
    fputs("\r\n", out);
}

static void s_command(FILE *out, int argc, const char *const *argv, const size_t *lens)
{
    fprintf(out, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++)
        s_bulk(out, argv[i], lens ? lens[i] : strlen(argv[i]));
}

int main(int argc, char **argv)
{
    const char *region = tool_arg(argc, argv, "--region", "07");
    const char *municipality = tool_arg(argc, argv, "--municipality", NULL);
    const char *organization = tool_arg(argc, argv, "--organization", NULL);
    long long count = atoll(tool_arg(argc, argv, "--count", "0"));
    long long first = atoll(tool_arg(argc, argv, "--first", "1"));
    if (!municipality || !organization || count <= 0 || count > 10000000 || first <= 0) {
        fprintf(stderr,
                "использование: %s --region 07 --municipality 07-m1 --organization 07-o1 --count N "
                "[--first 1]\n",
                argv[0]);
        return 2;
    }
    static const char *const last_names[] = {"Шогенов", "Кумыков", "Тхагапсоев", "Иванов", "Петров", "Хашев"};
    static const char *const first_names[] = {"Аслан", "Мурат", "Руслан", "Иван", "Пётр", "Тимур"};
    static const char *const subjects[] = {"mathematics", "russian", "physics", "history"};
    registry_layout *layout = calloc(1, sizeof *layout);
    if (!layout)
        abort();
    entity_layout_init(layout);
    FILE *out = stdout;
    char id[64], external_id[64], key[REGISTRY_KEY_MAX], claims_key[REGISTRY_KEY_MAX], version[24];
    registry_claims_key(&registry_staff_kind, region, claims_key, sizeof claims_key);
    char *organizations[] = {(char *)organization};
    char *municipalities[] = {(char *)municipality};
    for (long long n = first; n < first + count; n++) {
        registry_make_id(&registry_staff_kind, region, n, id, sizeof id);
        snprintf(external_id, sizeof external_id, "GEN-%010lld", n);
        char *subject[] = {(char *)subjects[n % 4]};
        Metodnet__StaffMember s = METODNET__STAFF_MEMBER__INIT;
        s.id = id;
        s.region_id = (char *)region;
        s.last_name = (char *)last_names[n % 6];
        s.first_name = (char *)first_names[(n / 6) % 6];
        s.middle_name = "Сгенерированный";
        s.birth_date = "1985-04-12";
        s.profession_start_date = "2007-09-01";
        s.position = METODNET__POSITION__POSITION_TEACHER;
        s.category = METODNET__STAFF_CATEGORY__STAFF_CATEGORY_TEACHER;
        s.subjects = subject;
        s.n_subjects = 1;
        s.organization_ids = organizations;
        s.n_organization_ids = 1;
        s.municipality_ids = municipalities;
        s.n_municipality_ids = 1;
        s.qualification_category = METODNET__QUALIFICATION_CATEGORY__QUALIFICATION_CATEGORY_FIRST;
        s.active = true;
        s.version = 1;
        s.created_at = "2026-09-01T08:00:00Z";
        s.updated_at = "2026-09-01T08:00:00Z";
        s.external_id = external_id;
        registry_staff_kind.layout(&s.base, layout);
        uint8_t data[2048];
        size_t len = metodnet__staff_member__get_packed_size(&s);
        if (len > sizeof data)
            abort();
        metodnet__staff_member__pack(&s, data);
        registry_entity_key(&registry_staff_kind, id, key, sizeof key);
        snprintf(version, sizeof version, "%" PRId64, s.version);
        const char *hset[] = {"HSET", key, "v", version, "d", (const char *)data, "a", layout->attributes};
        size_t hset_len[] = {4, strlen(key), 1, strlen(version), 1, len, 1, strlen(layout->attributes)};
        s_command(out, 8, hset, hset_len);
        for (size_t i = 0; i < layout->n_indexes; i++) {
            const char *zadd[] = {"ZADD", layout->indexes[i].key, "0", layout->indexes[i].member};
            s_command(out, 4, zadd, NULL);
        }
        for (size_t i = 0; i < layout->n_claims; i++) {
            const char *claim[] = {"HSET", layout->claims[i].key, layout->claims[i].value, id};
            s_command(out, 4, claim, NULL);
        }
        entity_layout_clear(layout);
    }
    /* New records made through the API take ids after the generated ones. */
    char sequence[24];
    registry_sequence_key(&registry_staff_kind, region, key, sizeof key);
    snprintf(sequence, sizeof sequence, "%lld", first + count - 1);
    const char *set[] = {"SET", key, sequence};
    s_command(out, 3, set, NULL);
    free(layout);
    return fflush(out) == 0 ? 0 : 1;
}
