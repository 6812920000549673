/*
 * tools/testhook.h - kill points for the crash-safety tests.
 *
 * Only a test build has them: the CMake option POSTIE_TOOLS_TEST_HOOKS
 * (default: on when the tests are built) builds tools/postie-fetch-test and
 * tools/postie-send-test with POSTIE_TOOLS_TEST_HOOKS defined; the tools
 * that are installed never have them. In a test build,
 * POSTIE_FETCH_TEST_KILL=PHASE:N (postie-send: POSTIE_SEND_TEST_KILL) makes
 * the process SIGKILL itself the Nth time it reaches PHASE (docs/tools.md
 * lists the phases).
 */
#ifndef POSTIE_TOOLS_TESTHOOK_H
#define POSTIE_TOOLS_TESTHOOK_H

#ifdef POSTIE_TOOLS_TEST_HOOKS
void tool_test_kill_point(const char *phase);
#else
#define tool_test_kill_point(phase) ((void)0)
#endif

#endif /* POSTIE_TOOLS_TESTHOOK_H */
