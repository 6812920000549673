/* Status names and messages, generated from POSTIE_STATUS_LIST: one string
 * of NUL-ended entries each, in the list's order, with the text for an
 * unknown value as the last entry (smaller than a switch, which compiles to
 * a table of pointers). The list holds the values 0, 1, ... first, then -1,
 * -2, ... (checked below), so a value's position is computed, not looked up. */
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

/* How many values are not negative. */
enum {
    NPOSITIVE = 0
#define POSTIE_X_NONNEG(name, value, msg) + ((value) >= 0)
    POSTIE_STATUS_LIST(POSTIE_X_NONNEG)
#undef POSTIE_X_NONNEG
};

/* Each value is where index() puts it (else: division by zero): a new status
 * goes after the last of its sign, with the next value. */
enum {
#define POSTIE_X_ORDER(name, value, msg)                                                \
    postie_order_##name = 1 / ((value) >= 0 ? (value) == postie_pos_##name              \
                                            : NPOSITIVE - 1 - (value) == postie_pos_##name),
    POSTIE_STATUS_LIST(POSTIE_X_ORDER)
#undef POSTIE_X_ORDER
    postie_order_end
};

/* The entry of status in list (NSTATUS + 1 NUL-ended entries, the last one
 * for a value outside the list). */
static const char *entry(const char *list, postie_status status)
{
    unsigned v = (unsigned)status;
    /* 0 .. NPOSITIVE - 1 in place, -1, -2, ... after them (unsigned: no overflow) */
    unsigned i = (int)status < 0 ? (unsigned)(NPOSITIVE - 1) - v : v < NPOSITIVE ? v : NSTATUS;

    if (i > NSTATUS) {
        i = NSTATUS;
    }
    while (i-- > 0) {
        while (*list++ != '\0') {
        }
    }
    return list;
}

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
    return postie_status_name(status);
}
#endif

const char *postie_status_name(postie_status status)
{
    static const char names[] =
#define POSTIE_X_NAME(name, value, msg) #name "\0"
        POSTIE_STATUS_LIST(POSTIE_X_NAME)
#undef POSTIE_X_NAME
        "UNKNOWN";
    return entry(names, status);
}
