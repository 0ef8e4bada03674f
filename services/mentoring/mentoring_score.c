/* mentoring_score — the matching score and its Russian explanation (see mentoring_score.h). */
#include "mentoring_score.h"

#include <stdio.h>
#include <string.h>

void ms_weights_default(ms_weights *w)
{
    *w = (ms_weights){.deficit = 45, .subject = 15, .proximity = 15, .certified = 10, .capacity = 5, .experience = 10};
}

bool ms_weights_parse(const char *text, ms_weights *w)
{
    ms_weights next = *w;
    const char *at = text;
    while (at && *at) {
        char name[32];
        double value;
        int used = 0;
        if (sscanf(at, " %31[a-z] = %lf%n", name, &value, &used) != 2 || value < 0 || value > 100)
            return false;
        double *slot = strcmp(name, "deficit") == 0      ? &next.deficit
                       : strcmp(name, "subject") == 0    ? &next.subject
                       : strcmp(name, "proximity") == 0  ? &next.proximity
                       : strcmp(name, "certified") == 0  ? &next.certified
                       : strcmp(name, "capacity") == 0   ? &next.capacity
                       : strcmp(name, "experience") == 0 ? &next.experience
                                                         : NULL;
        if (!slot)
            return false;
        *slot = value;
        at += used;
        while (*at == ' ')
            at++;
        if (*at == ',')
            at++;
        else if (*at != '\0')
            return false;
    }
    *w = next;
    return true;
}

bool ms_eligible(const ms_person *mentee, const ms_person *mentor)
{
    return mentee != mentor && mentor->available && mentor->load < mentor->max_places &&
           mentee->manager == mentor->manager;
}

static bool s_shares(const int32_t *a, int na, const int32_t *b, int nb)
{
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++)
            if (a[i] == b[j])
                return true;
    return false;
}

double ms_score(const ms_weights *w, const ms_person *mentee, const ms_person *mentor, ms_parts *out)
{
    ms_parts p;
    memset(&p, 0, sizeof p);
    uint64_t deficits = mentee->deficit;
    int n_def = 0;
    double sum = 0;
    while (deficits) {
        int c = __builtin_ctzll(deficits);
        deficits &= deficits - 1;
        n_def++;
        uint64_t bit = 1ULL << c;
        if (mentor->strong & bit) {
            sum += 1.0;
            p.covered |= bit;
        } else if (!(mentor->deficit & bit) && mentor->percent[c] != MS_PERCENT_UNKNOWN) {
            sum += 0.5 * mentor->percent[c] / 100.0;
        }
    }
    p.deficit = n_def ? sum / n_def : 0;
    p.subject = (mentee->subjects & mentor->subjects) ? 1 : 0;
    if (s_shares(mentee->orgs, mentee->n_orgs, mentor->orgs, mentor->n_orgs))
        p.proximity = 1;
    else if (s_shares(mentee->muns, mentee->n_muns, mentor->muns, mentor->n_muns))
        p.proximity = 0.5;
    p.certified = mentor->certified ? 1 : 0;
    p.capacity = mentor->max_places > 0 ? (double)(mentor->max_places - mentor->load) / mentor->max_places : 0;
    if (p.capacity < 0)
        p.capacity = 0;
    if (mentee->start_days != INT32_MIN && mentor->start_days != INT32_MIN && mentor->start_days < mentee->start_days) {
        double years = (mentee->start_days - mentor->start_days) / 365.25;
        p.experience = years >= 10 ? 1 : years / 10;
    }
    p.total = w->deficit * p.deficit + w->subject * p.subject + w->proximity * p.proximity +
              w->certified * p.certified + w->capacity * p.capacity + w->experience * p.experience;
    if (out)
        *out = p;
    return p.total;
}

static const char *s_places_word(int n)
{
    int m10 = n % 10, m100 = n % 100;
    if (m10 == 1 && m100 != 11)
        return "место";
    if (m10 >= 2 && m10 <= 4 && (m100 < 12 || m100 > 14))
        return "места";
    return "мест";
}

void ms_explain(const ms_parts *parts, const ms_person *mentor, const char *const *names, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
#define PUT(...)                                                                                                       \
    do {                                                                                                               \
        if (len < size) {                                                                                              \
            int put_n = snprintf(out + len, size - len, __VA_ARGS__);                                                  \
            len += put_n > 0 ? (size_t)put_n : 0;                                                                      \
        }                                                                                                              \
    } while (0)
    if (parts->covered) {
        PUT("сильная сторона в ");
        uint64_t c = parts->covered;
        int k = 0;
        while (c) {
            int i = __builtin_ctzll(c);
            c &= c - 1;
            PUT("%s«%s»", k++ ? ", " : "", names && names[i] ? names[i] : "?");
        }
        PUT(", где у наставляемого дефицит");
    } else {
        PUT("дефициты наставляемого не относятся к сильным сторонам наставника");
    }
    if (parts->subject > 0)
        PUT("; тот же предмет");
    PUT(parts->proximity >= 1 ? "; та же школа" : parts->proximity > 0 ? "; тот же муниципалитет" : "; тот же регион");
    if (parts->certified > 0)
        PUT("; сертифицированный наставник");
    int free_places = mentor->max_places - mentor->load;
    PUT("; свободно %d %s из %d", free_places, s_places_word(free_places), mentor->max_places);
#undef PUT
    if (len >= size && size > 4) { /* cut on a character boundary */
        size_t at = size - 4;
        while (at > 0 && ((unsigned char)out[at] & 0xC0) == 0x80)
            at--;
        memcpy(out + at, "...", 4);
    }
}
