/* dictionary — the national list of school subjects (учебные предметы) with Russian names. Codes are
 * stable API values: never renumber or rename one, only add. */
#include "dictionary.h"

#include <string.h>

static const dictionary_entry s_subjects[] = {
    {"russian_language", "Русский язык"},
    {"literature", "Литература"},
    {"native_language", "Родной язык"},
    {"native_literature", "Литературное чтение на родном языке"},
    {"english_language", "Английский язык"},
    {"german_language", "Немецкий язык"},
    {"french_language", "Французский язык"},
    {"mathematics", "Математика"},
    {"algebra", "Алгебра"},
    {"geometry", "Геометрия"},
    {"probability_statistics", "Вероятность и статистика"},
    {"informatics", "Информатика"},
    {"physics", "Физика"},
    {"chemistry", "Химия"},
    {"biology", "Биология"},
    {"geography", "География"},
    {"astronomy", "Астрономия"},
    {"history", "История"},
    {"social_studies", "Обществознание"},
    {"economics", "Экономика"},
    {"law", "Право"},
    {"natural_science", "Окружающий мир"},
    {"orkse", "Основы религиозных культур и светской этики"},
    {"odnknr", "Основы духовно-нравственной культуры народов России"},
    {"music", "Музыка"},
    {"fine_arts", "Изобразительное искусство"},
    {"mhk", "Мировая художественная культура"},
    {"technology", "Труд (технология)"},
    {"physical_education", "Физическая культура"},
    {"life_safety", "Основы безопасности и защиты Родины"},
    {"primary_education", "Начальное общее образование"},
    {"preschool_education", "Дошкольное образование"},
    {"additional_education", "Дополнительное образование"},
    {"special_education", "Коррекционная педагогика"},
};

const dictionary_entry *dictionary_subjects(size_t *n)
{
    *n = sizeof s_subjects / sizeof s_subjects[0];
    return s_subjects;
}

const char *dictionary_subject_name(const char *code)
{
    if (code == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof s_subjects / sizeof s_subjects[0]; i++)
        if (strcmp(s_subjects[i].code, code) == 0)
            return s_subjects[i].name_ru;
    return NULL;
}

bool dictionary_subject_known(const char *code)
{
    return dictionary_subject_name(code) != NULL;
}
