/* bench/apps/app_fetch.c - fetch only: USER/PASS, RETR every message, DELE
 * it, QUIT (bench/size-link.sh). */
#include "app_common.h"
#include "postie/pop3.h"

static postie_pop3 pop;

int main(void)
{
    unsigned long count = 0, octets = 0, i;
    static char buf[256];
    size_t n;
    int committed = 0;

    if (postie_pop3_init(&pop, &app_transport) != POSTIE_OK || postie_pop3_open(&pop) != POSTIE_OK ||
        postie_pop3_login(&pop, "user", "secret", POSTIE_POP3_LOGIN_USER) != POSTIE_OK ||
        postie_pop3_stat(&pop, &count, &octets) != POSTIE_OK) {
        return 1;
    }
    for (i = 1; i <= count; i++) {
        if (postie_pop3_retr_begin(&pop, i, &octets) != POSTIE_OK) {
            return 1;
        }
        while (postie_pop3_read(&pop, buf, sizeof buf, &n) == POSTIE_OK) {
            app_sink(buf, n);
        }
        if (postie_pop3_dele(&pop, i) != POSTIE_OK) {
            return 1;
        }
    }
    return postie_pop3_quit(&pop, &committed) == POSTIE_OK ? 0 : 1;
}
