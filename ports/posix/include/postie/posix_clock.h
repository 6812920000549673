/*
 * postie/posix_clock.h - a monotonic clock for the calls' overall deadlines
 * (postie_pop3_set_deadline, postie_smtp_set_deadline; conn.h).
 */
#ifndef POSTIE_POSIX_CLOCK_H
#define POSTIE_POSIX_CLOCK_H

#ifdef __cplusplus
extern "C" {
#endif

/* Milliseconds of CLOCK_MONOTONIC (a postie_clock_fn); ctx is unused. */
unsigned long postie_posix_clock_ms(void *ctx);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_POSIX_CLOCK_H */
