/* dictionary — fixed national lists with Russian names: school subjects (учебные предметы). Codes
 * are the API values; names are what a person reads. */
#ifndef METODNET_DICTIONARY_H
#define METODNET_DICTIONARY_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *code;    /* "mathematics" */
    const char *name_ru; /* «Математика» */
} dictionary_entry;

/* The subjects, in a stable order; *n set to the count. Borrowed static data. */
const dictionary_entry *dictionary_subjects(size_t *n);
bool dictionary_subject_known(const char *code);
/* Russian name or NULL. */
const char *dictionary_subject_name(const char *code);

#endif
