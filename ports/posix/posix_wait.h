/*
 * ports/posix/posix_wait.h - not public API: the deadline and poll() wait
 * that the TCP and TLS transports share. Each transport keeps its own
 * mapping of the results onto postie statuses and error texts.
 */
#ifndef POSTIE_PORTS_POSIX_WAIT_H
#define POSTIE_PORTS_POSIX_WAIT_H

#include <time.h>

/* *d = now (CLOCK_MONOTONIC) + timeout_ms. */
void postie_posix_deadline_after(struct timespec *d, unsigned timeout_ms);

/* Waits until fd is ready for events (or has an error or hang-up pending).
 * Polls at least once, so readiness that is already there is reported even
 * when the deadline has passed; the wait never ends before the deadline.
 * Returns 1 when ready, 0 when the deadline passed first, -1 with errno set
 * when poll() failed or refused the descriptor (EBADF). */
int postie_posix_wait_fd(int fd, short events, const struct timespec *deadline);

#endif
