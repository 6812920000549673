/*
 * What newlib asks of the system. There is no heap: _sbrk always fails (and
 * counts the attempts, which main reports: Postie and lwIP never allocate,
 * mbed TLS allocates from its static buffer). Time of day: the host's clock
 * read once at boot over semihosting, plus SysTick milliseconds.
 */
#define _POSIX_C_SOURCE 200809L /* gmtime_r */
#include <errno.h>
#include <time.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/time.h>
#include "board.h"

static int64_t boot_time;
unsigned sbrk_calls;

void syscalls_set_boot_time(int64_t t)
{
    boot_time = t;
}

int _gettimeofday(struct timeval *tv, void *tz);
int _gettimeofday(struct timeval *tv, void *tz)
{
    uint32_t ms = board_ms();
    (void)tz;
    if (tv != NULL) {
        tv->tv_sec = (time_t)(boot_time + ms / 1000u);
        tv->tv_usec = (suseconds_t)((ms % 1000u) * 1000u);
    }
    return 0;
}

/* mbed TLS's certificate date check (MBEDTLS_PLATFORM_GMTIME_R_ALT): newlib's
 * gmtime() would allocate its struct tm from the (absent) heap. */
struct tm *mbedtls_platform_gmtime_r(const time_t *tt, struct tm *tm_buf);
struct tm *mbedtls_platform_gmtime_r(const time_t *tt, struct tm *tm_buf)
{
    return gmtime_r(tt, tm_buf);
}

void *_sbrk(ptrdiff_t incr);
void *_sbrk(ptrdiff_t incr)
{
    (void)incr;
    sbrk_calls++;
    errno = ENOMEM;
    return (void *)-1;
}

int _write(int fd, const char *buf, int len);
int _write(int fd, const char *buf, int len)
{
    int i;
    (void)fd;
    for (i = 0; i < len; i++) {
        uart_putc(buf[i]);
    }
    return len;
}

int _read(int fd, char *buf, int len);
int _read(int fd, char *buf, int len) { (void)fd; (void)buf; (void)len; errno = ENOSYS; return -1; }
int _close(int fd);
int _close(int fd) { (void)fd; return -1; }
int _lseek(int fd, int off, int whence);
int _lseek(int fd, int off, int whence) { (void)fd; (void)off; (void)whence; return -1; }
int _fstat(int fd, struct stat *st);
int _fstat(int fd, struct stat *st) { (void)fd; st->st_mode = S_IFCHR; return 0; }
int _isatty(int fd);
int _isatty(int fd) { (void)fd; return 1; }
int _getpid(void);
int _getpid(void) { return 1; }
int _kill(int pid, int sig);
int _kill(int pid, int sig) { (void)pid; (void)sig; errno = EINVAL; return -1; }
void _exit(int code);
void _exit(int code) { board_exit(code); }
