/* bench/apps/app_none.c - the baseline of bench/size-link.sh --lto: the same
 * start-up code, C library and stub stack as the other applications, and a
 * main() that calls nothing of Postie. An application's ELF minus this one is
 * what linking Postie (and the calls to it) added. */
#include "app_common.h"

int main(void)
{
    app_sink("", 1);
    return 0;
}
