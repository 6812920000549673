/* Status names and messages, generated from POSTIE_STATUS_LIST: one string
 * of NUL-ended entries each, in the list's order, with the text for an
 * unknown value as the last entry (smaller than a switch, which compiles to
 * a table of pointers). The list holds the values in descending order
 * without gaps, START_TLS (3) first (checked below), so a value's position
 * is computed, not looked up. */
#include "postie/postie_config_defaults.h"
#include "postie/status.h"

#include <stddef.h>

/* The position of each entry in the list. */
enum {
#define POSTIE_X_POS(name, value, msg) postie_pos_##name,
    POSTIE_STATUS_LIST(POSTIE_X_POS)
#undef POSTIE_X_POS
    NSTATUS
};

/* The first (highest) value. */
enum {
    TOP = POSTIE_START_TLS
};

/* Each value is where entry() puts it (else: division by zero; a new highest
 * value changes TOP). */
enum {
#define POSTIE_X_ORDER(name, value, msg) \
    postie_order_##name = 1 / (TOP - (value) == postie_pos_##name),
    POSTIE_STATUS_LIST(POSTIE_X_ORDER)
#undef POSTIE_X_ORDER
    postie_order_end
};

/* The entry of status in list (NSTATUS + 1 NUL-ended entries, the last one
 * for a value outside the list). */
static const char *entry(const char *list, postie_status status)
{
    /* TOP, TOP - 1, ... in place (unsigned: a value above TOP wraps past the end) */
    unsigned i = (unsigned)TOP - (unsigned)status;

    if (i > NSTATUS) {
        i = NSTATUS;
    }
    while (i-- > 0) {
        while (*list++ != '\0') {
        }
    }
    return list;
}

/* The names, for postie_status_name() (and postie_strerror() without the
 * messages). */
static const char names[] =
#define POSTIE_X_NAME(name, value, msg) #name "\0"
    POSTIE_STATUS_LIST(POSTIE_X_NAME)
#undef POSTIE_X_NAME
    "UNKNOWN";

#if POSTIE_WITH_STATUS_MESSAGES
const char *postie_strerror(postie_status status)
{
    static const char messages[] =
#define POSTIE_X_MSG(name, value, msg) msg "\0"
        POSTIE_STATUS_LIST(POSTIE_X_MSG)
#undef POSTIE_X_MSG
        "unknown status";
    return entry(messages, status);
}
#else
/* POSTIE_WITH_STATUS_MESSAGES 0: the short name stands for the message. */
const char *postie_strerror(postie_status status)
{
    return entry(names, status);
}
#endif

const char *postie_status_name(postie_status status)
{
    return entry(names, status);
}
