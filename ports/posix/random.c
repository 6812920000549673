/*
 * ports/posix/random.c - random bytes for SCRAM nonces from /dev/urandom,
 * which every POSIX host we target has (Linux, the BSDs, macOS). Opened per
 * call: a mail session needs one nonce per login.
 */
#include "postie/posix_random.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

postie_status postie_posix_random(void *ctx, void *buf, size_t len)
{
    unsigned char *p = buf;
    size_t got = 0;
    int fd;

    (void)ctx;
    if (buf == NULL && len > 0) {
        return POSTIE_ERR_PARAM;
    }
    if (len == 0) {
        return POSTIE_OK;
    }
    fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return POSTIE_ERR_IO;
    }
    while (got < len) {
        ssize_t r = read(fd, p + got, len - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            (void)close(fd);
            return POSTIE_ERR_IO;
        }
        got += (size_t)r;
    }
    (void)close(fd);
    return POSTIE_OK;
}
