/* Deadlines and poll() waits shared by the POSIX transports. */
#include "posix_wait.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>

void postie_posix_deadline_after(struct timespec *d, unsigned timeout_ms)
{
    clock_gettime(CLOCK_MONOTONIC, d);
    d->tv_sec += (time_t)(timeout_ms / 1000u);
    d->tv_nsec += (long)(timeout_ms % 1000u) * 1000000L;
    if (d->tv_nsec >= 1000000000L) {
        d->tv_sec += 1;
        d->tv_nsec -= 1000000000L;
    }
}

/* Milliseconds left until d, rounded up (so a wait never ends early), at most
 * INT_MAX (poll's limit; the caller loops). 0 once d has passed. */
static int remaining_ms(const struct timespec *d)
{
    struct timespec now;
    long long ns, ms;

    clock_gettime(CLOCK_MONOTONIC, &now);
    ns = (long long)(d->tv_sec - now.tv_sec) * 1000000000LL + (d->tv_nsec - now.tv_nsec);
    if (ns <= 0) {
        return 0;
    }
    ms = (ns + 999999LL) / 1000000LL;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

int postie_posix_wait_fd(int fd, short events, const struct timespec *deadline)
{
    for (;;) {
        struct pollfd p;
        int ms = remaining_ms(deadline);
        int r;

        p.fd = fd;
        p.events = events;
        p.revents = 0;
        r = poll(&p, 1, ms);
        if (r > 0) {
            if (p.revents & POLLNVAL) {
                errno = EBADF;
                return -1;
            }
            return 1;
        }
        if (r < 0 && errno != EINTR) {
            return -1;
        }
        if (r == 0 && ms == 0) {
            return 0; /* polled once more after the deadline: nothing */
        }
        /* timed out early (poll's INT_MAX cap) or EINTR: remaining_ms() decides */
    }
}
