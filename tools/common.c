/* tools/common.c - what every part of the tools shares: the program's
 * messages (escaped: a server's text never drives the terminal), exit codes
 * for library statuses, tool_strdup. See common.h. */
#include "common.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *tool_progname = "postie";
int tool_verbosity = 0;

/* Length of the UTF-8 sequence at p (n bytes available) when it is a valid
 * one for a printable character (no C1 control), else 0. */
static size_t utf8_printable(const unsigned char *p, size_t n)
{
    size_t len, i;
    if (p[0] >= 0xC2 && p[0] <= 0xDF)
        len = 2;
    else if (p[0] >= 0xE0 && p[0] <= 0xEF)
        len = 3;
    else if (p[0] >= 0xF0 && p[0] <= 0xF4)
        len = 4;
    else
        return 0;
    if (len > n)
        return 0;
    for (i = 1; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    if (p[0] == 0xC2 && p[1] < 0xA0)
        return 0; /* U+0080..U+009F: C1 controls (CSI and friends) */
    if ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xF0 && p[1] < 0x90) ||
        (p[0] == 0xF4 && p[1] > 0x8F) || (p[0] == 0xED && p[1] > 0x9F))
        return 0; /* overlong, beyond U+10FFFF, surrogates */
    return len;
}

void tool_escape(FILE *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t u;
        if (p[i] >= 0x20 && p[i] < 0x7f) {
            fputc(p[i], out);
            i++;
        } else if (p[i] == '\t') {
            fputs("\\t", out);
            i++;
        } else if (p[i] >= 0x80 && (u = utf8_printable(p + i, n - i)) > 0) {
            fwrite(p + i, 1, u, out);
            i += u;
        } else {
            fprintf(out, "\\x%02x", p[i]);
            i++;
        }
    }
}

/* "progname: message" with every byte that could drive a terminal (ESC,
 * BEL, CR, C1 controls, invalid UTF-8) shown as \xNN: server replies, UIDs
 * and TLS details reach these messages. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 0)))
#endif
static void emit(const char *fmt, va_list ap)
{
    char buf[4096];
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof buf)
        n = (int)sizeof buf - 1;
    fprintf(stderr, "%s: ", tool_progname);
    tool_escape(stderr, buf, (size_t)n);
    fputc('\n', stderr);
}

char tool_last_err[512];

void tool_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(fmt, ap);
    va_end(ap);
    va_start(ap, fmt);
    vsnprintf(tool_last_err, sizeof tool_last_err, fmt, ap);
    va_end(ap);
}

void tool_info(const char *fmt, ...)
{
    va_list ap;
    if (tool_verbosity < 1)
        return;
    va_start(ap, fmt);
    emit(fmt, ap);
    va_end(ap);
}

int tool_exit_for_status(postie_status st)
{
    switch (st) {
    case POSTIE_OK:
    case POSTIE_DONE:
        return TOOL_EX_OK;
    case POSTIE_ERR_RESOLVE:
        return TOOL_EX_NOHOST;
    case POSTIE_ERR_CONNECT:
    case POSTIE_ERR_TIMEOUT:
    case POSTIE_ERR_CLOSED:
    case POSTIE_ERR_IO:
    case POSTIE_ERR_TRANSIENT:
    case POSTIE_ERR_OUTCOME_UNKNOWN:
        return TOOL_EX_TEMPFAIL;
    case POSTIE_ERR_AUTH:
    case POSTIE_ERR_INSECURE:
        return TOOL_EX_NOPERM;
    case POSTIE_ERR_TLS:
    case POSTIE_ERR_TLS_VERIFY:
    case POSTIE_ERR_TLS_REQUIRED:
    case POSTIE_ERR_PROTOCOL:
    case POSTIE_ERR_LINE_TOO_LONG:
        return TOOL_EX_PROTOCOL;
    case POSTIE_ERR_SERVER:
    case POSTIE_ERR_UNSUPPORTED:
    case POSTIE_ERR_TOO_BIG:
        return TOOL_EX_UNAVAILABLE;
    case POSTIE_ERR_RECIPIENTS:
        return TOOL_EX_NOUSER;
    case POSTIE_ERR_PARAM:
        return TOOL_EX_DATAERR;
    default:
        return TOOL_EX_SOFTWARE;
    }
}

char *tool_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

char *tool_strndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}
