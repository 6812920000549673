/* Helpers shared by the clients' TLS policy (security.h). */
#include "postie/security.h"

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
