/* Helpers shared by the clients' TLS policy (security.h). */
#include "postie/security.h"

#include <string.h>

int postie_server_name_ok(const char *name)
{
    size_t n;

    if (name == NULL || name[0] == '\0') {
        return 0;
    }
    for (n = 0; name[n] != '\0'; n++) {
        unsigned char c = (unsigned char)name[n];
        if (c <= 0x20 || c == 0x7f || n + 1 >= POSTIE_SERVER_NAME_MAX) {
            return 0;
        }
    }
    return 1;
}

postie_status postie_tls_policy_check(postie_tls_policy policy, const char *server_name,
                                      char out[POSTIE_SERVER_NAME_MAX])
{
    if (policy != POSTIE_TLS_REQUIRED && policy != POSTIE_TLS_OPPORTUNISTIC &&
        policy != POSTIE_TLS_OFF && policy != POSTIE_TLS_IMPLICIT) {
        return POSTIE_ERR_PARAM;
    }
    if (server_name != NULL && !postie_server_name_ok(server_name)) {
        return POSTIE_ERR_PARAM;
    }
    if (server_name == NULL &&
        (policy == POSTIE_TLS_REQUIRED || policy == POSTIE_TLS_OPPORTUNISTIC)) {
        return POSTIE_ERR_PARAM;
    }
    if (out == NULL) {
        return POSTIE_OK; /* checked, not kept: no TLS upgrade is compiled in */
    }
    out[0] = '\0';
    if (server_name != NULL) {
        memcpy(out, server_name, strlen(server_name) + 1);
    }
    return POSTIE_OK;
}
