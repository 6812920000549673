/* Status names and messages, generated from POSTIE_STATUS_LIST. */
#include "postie/status.h"

const char *postie_strerror(postie_status status)
{
    switch (status) {
#define POSTIE_X_MSG(name, value, msg) case POSTIE_##name: return msg;
        POSTIE_STATUS_LIST(POSTIE_X_MSG)
#undef POSTIE_X_MSG
    }
    return "unknown status";
}

const char *postie_status_name(postie_status status)
{
    switch (status) {
#define POSTIE_X_NAME(name, value, msg) case POSTIE_##name: return #name;
        POSTIE_STATUS_LIST(POSTIE_X_NAME)
#undef POSTIE_X_NAME
    }
    return "UNKNOWN";
}
