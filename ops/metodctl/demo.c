/* demo — deterministic demo datasets (see demo.h). A xorshift64* generator seeded from the seed and
 * the row's position drives every choice, so a row does not depend on how many were written before
 * it and the files are the same on every machine. Reference date for ages: 2025-09-01.
 */
#include "demo.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static uint64_t s_mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

typedef struct {
    uint64_t state;
} rng;

static rng s_rng(uint64_t seed, uint64_t a, uint64_t b)
{
    rng r = {s_mix(seed ^ s_mix(a * 0x100000001B3ull + b))};
    if (r.state == 0)
        r.state = 1;
    return r;
}

static uint64_t s_next(rng *r)
{
    r->state ^= r->state >> 12;
    r->state ^= r->state << 25;
    r->state ^= r->state >> 27;
    return r->state * 2685821657736338717ull;
}

static unsigned s_below(rng *r, unsigned n)
{
    return n ? (unsigned)(s_next(r) % n) : 0;
}
static double s_unit(rng *r)
{
    return (double)(s_next(r) >> 11) / 9007199254740992.0;
}

/* ---------- territory ---------- */

static const char *const s_seeded[] = {"Терский район", "Старомайнский район", "ЗАТО п. Горный", "г. Красноярск"};
static const char *const s_stems[] = {"Алексеевский", "Берёзовский", "Богучанский",   "Вяземский",    "Глазовский",
                                      "Дубровский",   "Ермаковский", "Жигаловский",   "Заречный",     "Ивановский",
                                      "Казачинский",  "Лесной",      "Майский",       "Назаровский",  "Октябрьский",
                                      "Партизанский", "Рыбинский",   "Сухобузимский", "Тасеевский",   "Ужурский",
                                      "Хасанский",    "Чернский",    "Шарыповский",   "Шушенский",    "Эвенкийский",
                                      "Юргинский",    "Ярцевский",   "Абанский",      "Балахтинский", "Ветлужский"};
#define S_STEMS (sizeof s_stems / sizeof s_stems[0])

size_t demo_municipalities(const demo_options *o)
{
    return o->scale == DEMO_DISTRICT ? 1 : o->scale == DEMO_REGION ? 60 : 2500;
}

void demo_municipality_name(const demo_options *o, size_t i, char *out, size_t size)
{
    (void)o;
    if (i < 4) {
        snprintf(out, size, "%s", s_seeded[i]);
        return;
    }
    size_t k = i - 4;
    static const char *const forms[] = {"район", "муниципальный округ"};
    if (k < 2 * S_STEMS)
        snprintf(out, size, "%s %s", s_stems[k % S_STEMS], forms[k / S_STEMS]);
    else
        snprintf(out, size, "%s район № %zu", s_stems[k % S_STEMS], k / S_STEMS);
}

const char *demo_municipality_kind(const demo_options *o, size_t i)
{
    (void)o;
    return i == 2 ? "zato" : i == 3 ? "city" : "district";
}

/* ---------- organizations ---------- */

typedef enum { ORG_SCHOOL, ORG_LYCEUM, ORG_GYMNASIUM, ORG_PRESCHOOL, ORG_ADDITIONAL, ORG_CENTRE } org_kind;

typedef struct {
    size_t municipality;
    size_t number; /* within the municipality, 1-based */
    org_kind kind;
} org_slot;

static size_t s_orgs_per_municipality(const demo_options *o)
{
    return o->scale == DEMO_DISTRICT ? 24 : o->scale == DEMO_REGION ? 25 : 24;
}

static org_kind s_kind_at(const demo_options *o, size_t number)
{
    if (o->scale == DEMO_NATIONAL)
        return number <= 16 ? (number == 1 ? ORG_LYCEUM : number == 2 ? ORG_GYMNASIUM : ORG_SCHOOL) : ORG_PRESCHOOL;
    /* district and region: 13 (15) schools, preschools, one additional-education centre, one methodological centre */
    size_t schools = o->scale == DEMO_DISTRICT ? 13 : 15;
    size_t preschools = o->scale == DEMO_DISTRICT ? 9 : 8;
    if (number <= schools)
        return number == 1 ? ORG_LYCEUM : number == 2 ? ORG_GYMNASIUM : ORG_SCHOOL;
    if (number <= schools + preschools)
        return ORG_PRESCHOOL;
    return number == schools + preschools + 1 ? ORG_ADDITIONAL : ORG_CENTRE;
}

static void s_org_external_id(const demo_options *o, size_t municipality, size_t number, char *out, size_t size)
{
    snprintf(out, size, "ОО-%s-%04zu-%02zu", o->region_id, municipality + 1, number);
}

static void s_put(FILE *f, const char *value, bool last)
{
    bool quote = strpbrk(value, ";\"\r\n") != NULL;
    if (!quote) {
        fputs(value, f);
    } else {
        fputc('"', f);
        for (const char *p = value; *p; p++) {
            if (*p == '"')
                fputc('"', f);
            fputc(*p, f);
        }
        fputc('"', f);
    }
    fputs(last ? "\r\n" : ";", f);
}

long demo_write_organizations(const demo_options *o, FILE *out)
{
    fputs("\xEF\xBB\xBFВнешний идентификатор;Муниципальное образование;Полное наименование;Краткое наименование;"
          "Вид организации;ШНОР\r\n",
          out);
    long rows = 0;
    size_t per = s_orgs_per_municipality(o);
    for (size_t m = 0; m < demo_municipalities(o); m++) {
        char mun[160], place[160];
        demo_municipality_name(o, m, mun, sizeof mun);
        snprintf(place, sizeof place, "%s", mun);
        size_t school_no = 0, preschool_no = 0;
        for (size_t n = 1; n <= per; n++) {
            rng r = s_rng(o->seed, 1000 + m, n);
            org_kind kind = s_kind_at(o, n);
            char xid[64], name[400], short_name[200];
            const char *word = "школа";
            bool low = false;
            switch (kind) {
            case ORG_LYCEUM:
                snprintf(name, sizeof name, "МБОУ «Лицей № %zu» (%s)", ++school_no, place);
                snprintf(short_name, sizeof short_name, "Лицей № %zu", school_no);
                word = "лицей";
                break;
            case ORG_GYMNASIUM:
                snprintf(name, sizeof name, "МБОУ «Гимназия № %zu» (%s)", ++school_no, place);
                snprintf(short_name, sizeof short_name, "Гимназия № %zu", school_no);
                word = "гимназия";
                break;
            case ORG_SCHOOL:
                ++school_no;
                snprintf(name, sizeof name, "МКОУ «%s № %zu» (%s)",
                         s_below(&r, 5) == 0 ? "Основная общеобразовательная школа"
                                             : "Средняя общеобразовательная школа",
                         school_no, place);
                snprintf(short_name, sizeof short_name, "СОШ № %zu", school_no);
                low = s_below(&r, 100) < 8; /* ~8 % ШНОР */
                break;
            case ORG_PRESCHOOL:
                snprintf(name, sizeof name, "МКДОУ «Детский сад № %zu» (%s)", ++preschool_no, place);
                snprintf(short_name, sizeof short_name, "Детский сад № %zu", preschool_no);
                word = "детский сад";
                break;
            case ORG_ADDITIONAL:
                snprintf(name, sizeof name, "МКУ ДО «Дом детского творчества» (%s)", place);
                snprintf(short_name, sizeof short_name, "ДДТ");
                word = "дополнительное образование";
                break;
            case ORG_CENTRE:
                snprintf(name, sizeof name, "МКУ «Информационно-методический центр» (%s)", place);
                snprintf(short_name, sizeof short_name, "ИМЦ");
                word = "методический центр";
                break;
            }
            s_org_external_id(o, m, n, xid, sizeof xid);
            s_put(out, xid, false);
            s_put(out, mun, false);
            s_put(out, name, false);
            s_put(out, short_name, false);
            s_put(out, word, false);
            s_put(out, low ? "да" : "нет", true);
            rows++;
        }
    }
    return ferror(out) ? -1 : rows;
}

/* ---------- staff ---------- */

typedef struct {
    const char *male, *female; /* surname forms */
} surname;

static const surname s_surnames[] = {
    {"Иванов", "Иванова"},        {"Смирнов", "Смирнова"},       {"Кузнецов", "Кузнецова"},
    {"Попов", "Попова"},          {"Васильев", "Васильева"},     {"Петров", "Петрова"},
    {"Соколов", "Соколова"},      {"Михайлов", "Михайлова"},     {"Новиков", "Новикова"},
    {"Фёдоров", "Фёдорова"},      {"Морозов", "Морозова"},       {"Волков", "Волкова"},
    {"Алексеев", "Алексеева"},    {"Лебедев", "Лебедева"},       {"Семёнов", "Семёнова"},
    {"Егоров", "Егорова"},        {"Павлов", "Павлова"},         {"Козлов", "Козлова"},
    {"Степанов", "Степанова"},    {"Николаев", "Николаева"},     {"Орлов", "Орлова"},
    {"Андреев", "Андреева"},      {"Макаров", "Макарова"},       {"Никитин", "Никитина"},
    {"Захаров", "Захарова"},      {"Зайцев", "Зайцева"},         {"Соловьёв", "Соловьёва"},
    {"Борисов", "Борисова"},      {"Яковлев", "Яковлева"},       {"Григорьев", "Григорьева"},
    {"Романов", "Романова"},      {"Воробьёв", "Воробьёва"},     {"Сергеев", "Сергеева"},
    {"Кудрявцев", "Кудрявцева"},  {"Белов", "Белова"},           {"Тарасов", "Тарасова"},
    {"Жуков", "Жукова"},          {"Комаров", "Комарова"},       {"Ковалёв", "Ковалёва"},
    {"Ильин", "Ильина"},          {"Гусев", "Гусева"},           {"Титов", "Титова"},
    {"Кузьмин", "Кузьмина"},      {"Баранов", "Баранова"},       {"Куликов", "Куликова"},
    {"Алексеенко", "Алексеенко"}, {"Шевченко", "Шевченко"},      {"Бондаренко", "Бондаренко"},
    {"Крылов", "Крылова"},        {"Максимов", "Максимова"},     {"Поляков", "Полякова"},
    {"Сорокин", "Сорокина"},      {"Виноградов", "Виноградова"}, {"Ковалев", "Ковалева"},
    {"Белоусов", "Белоусова"},    {"Медведев", "Медведева"},     {"Антонов", "Антонова"},
    {"Тимофеев", "Тимофеева"},    {"Ершов", "Ершова"},           {"Кабардоков", "Кабардокова"},
    {"Шогенов", "Шогенова"},      {"Кумыков", "Кумыкова"},       {"Хашкулов", "Хашкулова"},
    {"Жанказиев", "Жанказиева"},  {"Высоцкий", "Высоцкая"},      {"Островский", "Островская"},
    {"Покровский", "Покровская"}, {"Троицкий", "Троицкая"},
};
static const char *const s_female[] = {
    "Анна",     "Мария",  "Елена",  "Ольга",   "Наталья", "Татьяна",   "Ирина",  "Светлана",  "Екатерина", "Юлия",
    "Людмила",  "Галина", "Марина", "Надежда", "Оксана",  "Валентина", "Лариса", "Анастасия", "Дарья",     "Ксения",
    "Виктория", "Алёна",  "Зарина", "Марьям",  "Фатима",  "Залина",    "Лилия",  "Вера",      "Любовь"};
static const char *const s_male[] = {"Александр", "Сергей",  "Андрей",   "Алексей",    "Дмитрий", "Владимир",
                                     "Михаил",    "Николай", "Евгений",  "Иван",       "Олег",    "Виктор",
                                     "Юрий",      "Павел",   "Игорь",    "Артём",      "Руслан",  "Тимур",
                                     "Аслан",     "Мурат",   "Анатолий", "Константин", "Роман"};
/* father's names with their patronymic forms */
static const char *const s_patronymics[][2] = {{"Александрович", "Александровна"},
                                               {"Сергеевич", "Сергеевна"},
                                               {"Андреевич", "Андреевна"},
                                               {"Алексеевич", "Алексеевна"},
                                               {"Дмитриевич", "Дмитриевна"},
                                               {"Владимирович", "Владимировна"},
                                               {"Михайлович", "Михайловна"},
                                               {"Николаевич", "Николаевна"},
                                               {"Евгеньевич", "Евгеньевна"},
                                               {"Иванович", "Ивановна"},
                                               {"Олегович", "Олеговна"},
                                               {"Викторович", "Викторовна"},
                                               {"Юрьевич", "Юрьевна"},
                                               {"Петрович", "Петровна"},
                                               {"Игоревич", "Игоревна"},
                                               {"Васильевич", "Васильевна"},
                                               {"Анатольевич", "Анатольевна"},
                                               {"Борисович", "Борисовна"},
                                               {"Муратович", "Муратовна"},
                                               {"Асланович", "Аслановна"}};
static const char *const s_subjects[] = {"Русский язык",
                                         "Литература",
                                         "Математика",
                                         "Алгебра",
                                         "Геометрия",
                                         "Информатика",
                                         "Физика",
                                         "Химия",
                                         "Биология",
                                         "География",
                                         "История",
                                         "Обществознание",
                                         "Английский язык",
                                         "Немецкий язык",
                                         "Музыка",
                                         "Изобразительное искусство",
                                         "Труд (технология)",
                                         "Физическая культура",
                                         "Основы безопасности и защиты Родины",
                                         "Начальное общее образование",
                                         "Родной язык"};
/* how often each subject is taught (primary school, Russian and mathematics most) */
static const unsigned s_subject_weights[] = {14, 6, 13, 3, 2, 4, 4, 3, 4, 3, 5, 4, 8, 1, 2, 2, 3, 5, 2, 18, 2};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static size_t s_subject(rng *r)
{
    unsigned total = 0;
    for (size_t i = 0; i < N(s_subject_weights); i++)
        total += s_subject_weights[i];
    unsigned pick = s_below(r, total);
    for (size_t i = 0; i < N(s_subject_weights); i++) {
        if (pick < s_subject_weights[i])
            return i;
        pick -= s_subject_weights[i];
    }
    return 0;
}

/* Staff of one organization: teachers (or educators) and managers. */
static void s_staff_counts(const demo_options *o, org_kind kind, size_t municipality, size_t number, size_t *teachers,
                           size_t *managers)
{
    if (o->scale == DEMO_DISTRICT) {
        /* Терский район (seed 002): 619 teachers over 13 schools + ДДТ + ИМЦ, 252 preschool educators over
         * 9 kindergartens, 70 managers (3 per organization, 2 in the last two) */
        (void)municipality;
        if (kind == ORG_PRESCHOOL)
            *teachers = 28;
        else
            *teachers = 41 + (number <= 4 ? 1 : 0) + (kind == ORG_CENTRE ? 0 : 0);
        *managers = number >= 23 ? 2 : 3;
        return;
    }
    if (o->scale == DEMO_REGION) {
        *teachers = kind == ORG_PRESCHOOL ? 16 : kind == ORG_ADDITIONAL ? 10 : kind == ORG_CENTRE ? 6 : 31;
        *managers = kind == ORG_PRESCHOOL || kind == ORG_ADDITIONAL ? 2 : kind == ORG_CENTRE ? 1 : 3;
        return;
    }
    *teachers = kind == ORG_PRESCHOOL ? 12 : 18;
    *managers = kind == ORG_PRESCHOOL ? 2 : 3;
}

static void s_date(int year, int day_of_year, char *out, size_t size)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int month = 0, d = day_of_year % 365;
    while (d >= days[month]) {
        d -= days[month];
        month++;
    }
    snprintf(out, size, "%02d.%02d.%04d", d + 1, month + 1, year);
}

long demo_write_staff(const demo_options *o, FILE *out)
{
    fputs("\xEF\xBB\xBFВнешний идентификатор;Фамилия;Имя;Отчество;Дата рождения;Дата начала работы в профессии;"
          "Должность;Категория;Предметы;Организация;Квалификационная категория;Работает\r\n",
          out);
    long rows = 0;
    uint64_t person = 0;
    size_t per = s_orgs_per_municipality(o);
    for (size_t m = 0; m < demo_municipalities(o); m++) {
        for (size_t n = 1; n <= per; n++) {
            org_kind kind = s_kind_at(o, n);
            size_t teachers, managers;
            s_staff_counts(o, kind, m, n, &teachers, &managers);
            char org[64];
            s_org_external_id(o, m, n, org, sizeof org);
            for (size_t k = 0; k < managers + teachers; k++, person++) {
                rng r = s_rng(o->seed, m * 1000 + n, k);
                bool manager = k < managers;
                const char *position, *category = manager ? "руководитель" : "педагог";
                char subjects[200] = "";
                if (manager) {
                    position = k == 0 ? (kind == ORG_PRESCHOOL ? "заведующий" : "директор")
                                      : (kind == ORG_PRESCHOOL ? "заместитель заведующего" : "заместитель директора");
                } else if (kind == ORG_PRESCHOOL) {
                    unsigned p = s_below(&r, 100);
                    position = p < 84   ? "воспитатель"
                               : p < 90 ? "старший воспитатель"
                               : p < 95 ? "музыкальный руководитель"
                                        : "педагог-психолог";
                    snprintf(subjects, sizeof subjects, "Дошкольное образование");
                } else if (kind == ORG_ADDITIONAL) {
                    position = "педагог дополнительного образования";
                    snprintf(subjects, sizeof subjects, "Дополнительное образование");
                } else if (kind == ORG_CENTRE) {
                    position = "методист";
                    snprintf(subjects, sizeof subjects, "%s", s_subjects[s_subject(&r)]);
                } else {
                    unsigned p = s_below(&r, 100);
                    position = p < 90   ? "учитель"
                               : p < 94 ? "педагог-психолог"
                               : p < 97 ? "учитель-логопед"
                               : p < 99 ? "социальный педагог"
                                        : "тьютор";
                    if (p < 90) {
                        size_t a = s_subject(&r), b = s_subject(&r);
                        if (b != a && s_below(&r, 3) == 0)
                            snprintf(subjects, sizeof subjects, "%s, %s", s_subjects[a], s_subjects[b]);
                        else
                            snprintf(subjects, sizeof subjects, "%s", s_subjects[a]);
                    }
                }
                unsigned female_share = manager ? 72 : kind == ORG_PRESCHOOL ? 98 : 84;
                bool female = s_below(&r, 100) < female_share;
                const surname *sn = &s_surnames[s_below(&r, N(s_surnames))];
                const char *first = female ? s_female[s_below(&r, N(s_female))] : s_male[s_below(&r, N(s_male))];
                const char *middle = s_patronymics[s_below(&r, N(s_patronymics))][female ? 1 : 0];
                /* ages on 2025-09-01: ~22 % under 35 (young teachers), managers older */
                double u = s_unit(&r);
                int age = manager    ? 32 + (int)(u * 32)
                          : u < 0.22 ? 22 + (int)(s_unit(&r) * 13)
                          : u < 0.62 ? 35 + (int)(s_unit(&r) * 15)
                                     : 50 + (int)(s_unit(&r) * 17);
                int birth_year = 2025 - age - 1;
                char birth[40], start[40];
                s_date(birth_year, (int)s_below(&r, 365), birth, sizeof birth);
                int start_age = 21 + (int)s_below(&r, 5);
                int start_year = birth_year + start_age + 1;
                if (start_year > 2025)
                    start_year = 2025;
                s_date(start_year, 242 + (int)s_below(&r, 10), start, sizeof start); /* ~1 September */
                int experience = 2025 - start_year;
                unsigned q = s_below(&r, 100);
                const char *qualification = experience < 3 ? "без категории"
                                            : q < 15       ? "без категории"
                                            : q < 40 ? "соответствие занимаемой должности"
                                            : q < 72 ? "первая"
                                                     : "высшая";
                char xid[32];
                uint64_t id = person + 1;
                snprintf(xid, sizeof xid, "%03u-%03u-%03u %02u", (unsigned)(id / 1000000 % 1000),
                         (unsigned)(id / 1000 % 1000), (unsigned)(id % 1000), (unsigned)(id % 97));
                s_put(out, xid, false);
                s_put(out, female ? sn->female : sn->male, false);
                s_put(out, first, false);
                s_put(out, middle, false);
                s_put(out, birth, false);
                s_put(out, start, false);
                s_put(out, position, false);
                s_put(out, category, false);
                s_put(out, subjects, false);
                s_put(out, org, false);
                s_put(out, qualification, false);
                s_put(out, "да", true);
                rows++;
            }
            if (ferror(out))
                return -1;
        }
    }
    return ferror(out) ? -1 : rows;
}
