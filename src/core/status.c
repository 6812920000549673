/* Status names and messages, generated from POSTIE_STATUS_LIST: one string
 * of NUL-ended entries each, walked in the list's order (smaller than a
 * switch, which compiles to a table of pointers). */
#include "postie/postie_config_defaults.h"
#include "postie/status.h"

#include <stddef.h>

/* every value fits the signed char it is kept in (else: division by zero) */
enum {
#define POSTIE_X_FITS(name, value, msg) postie_fits_##name = 1 / ((value) >= -128 && (value) <= 127),
    POSTIE_STATUS_LIST(POSTIE_X_FITS)
#undef POSTIE_X_FITS
    postie_fits_end
};

static const signed char values[] = {
#define POSTIE_X_VALUE(name, value, msg) value,
    POSTIE_STATUS_LIST(POSTIE_X_VALUE)
#undef POSTIE_X_VALUE
};

/* The entry of status in list (an entry per value, NUL-ended), or NULL. */
static const char *entry(const char *list, postie_status status)
{
    size_t i;

    for (i = 0; i < sizeof values; i++) {
        if (values[i] == (int)status) {
            return list;
        }
        while (*list++ != '\0') {
        }
    }
    return NULL;
}

#if POSTIE_WITH_STATUS_MESSAGES
const char *postie_strerror(postie_status status)
{
    static const char messages[] =
#define POSTIE_X_MSG(name, value, msg) msg "\0"
        POSTIE_STATUS_LIST(POSTIE_X_MSG)
#undef POSTIE_X_MSG
        ;
    const char *m = entry(messages, status);
    return m != NULL ? m : "unknown status";
}
#else
/* POSTIE_WITH_STATUS_MESSAGES 0: the short name stands for the message. */
const char *postie_strerror(postie_status status)
{
    return postie_status_name(status);
}
#endif

const char *postie_status_name(postie_status status)
{
    static const char names[] =
#define POSTIE_X_NAME(name, value, msg) #name "\0"
        POSTIE_STATUS_LIST(POSTIE_X_NAME)
#undef POSTIE_X_NAME
        ;
    const char *n = entry(names, status);
    return n != NULL ? n : "UNKNOWN";
}
