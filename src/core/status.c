/* Status names and messages, generated from POSTIE_STATUS_LIST. */
#include "postie/postie_config_defaults.h"
#include "postie/status.h"

#if POSTIE_WITH_STATUS_MESSAGES
const char *postie_strerror(postie_status status)
{
    switch (status) {
#define POSTIE_X_MSG(name, value, msg) case POSTIE_##name: return msg;
        POSTIE_STATUS_LIST(POSTIE_X_MSG)
#undef POSTIE_X_MSG
    }
    return "unknown status";
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
    switch (status) {
#define POSTIE_X_NAME(name, value, msg) case POSTIE_##name: return #name;
        POSTIE_STATUS_LIST(POSTIE_X_NAME)
#undef POSTIE_X_NAME
    }
    return "UNKNOWN";
}
