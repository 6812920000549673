/* tools/testhook.c - kill points of the test builds (testhook.h). Compiled
 * only into tools/postie-fetch-test and tools/postie-send-test. */
#include "testhook.h"
#include "common.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

void tool_test_kill_point(const char *phase)
{
    static int hits;
    const char *v = getenv(strcmp(tool_progname, "postie-send") == 0 ? "POSTIE_SEND_TEST_KILL"
                                                                    : "POSTIE_FETCH_TEST_KILL");
    size_t n = strlen(phase);
    if (!v || strncmp(v, phase, n) != 0 || v[n] != ':')
        return;
    if (++hits == atoi(v + n + 1))
        raise(SIGKILL);
}
