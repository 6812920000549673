/* Status names and messages come from one list and cover every value. */
#include <setjmp.h>
#include <stdarg.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "postie/status.h"

static void test_every_status_has_name_and_message(void **state)
{
    (void)state;
#define CHECK(name, value, msg)                                              \
    assert_string_equal(postie_status_name(POSTIE_##name), #name);          \
    assert_string_equal(postie_strerror(POSTIE_##name), msg);               \
    assert_int_equal((int)POSTIE_##name, value);
    POSTIE_STATUS_LIST(CHECK)
#undef CHECK
}

static void test_unknown_status(void **state)
{
    (void)state;
    assert_string_equal(postie_strerror((postie_status)12345), "unknown status");
    assert_string_equal(postie_status_name((postie_status)-999), "UNKNOWN");
    /* just past each end of the list, and the extremes of an int */
    assert_string_equal(postie_status_name((postie_status)(POSTIE_START_TLS + 1)), "UNKNOWN");
    assert_string_equal(postie_status_name((postie_status)(POSTIE_ERR_OUTCOME_UNKNOWN - 1)),
                        "UNKNOWN");
    assert_string_equal(postie_status_name((postie_status)INT_MIN), "UNKNOWN");
    assert_string_equal(postie_status_name((postie_status)INT_MAX), "UNKNOWN");
    assert_string_equal(postie_strerror((postie_status)INT_MIN), "unknown status");
    assert_string_equal(postie_strerror(POSTIE_ERR_TIMEOUT), "timed out waiting for the peer");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_status_has_name_and_message),
        cmocka_unit_test(test_unknown_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
