/* tool_args — the one way the test tools (tests/tools/) read "--name value" arguments. */
#ifndef METODNET_TOOL_ARGS_H
#define METODNET_TOOL_ARGS_H

#include <string.h>

/* The value after "--name" in argv, or fallback when it is not there. */
static inline const char *tool_arg(int argc, char **argv, const char *name, const char *fallback)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return fallback;
}

#endif
