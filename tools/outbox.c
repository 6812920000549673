/* tools/outbox.c - postie-send's durable outbox (outbox.h; the files and
 * the order of every step: docs/tools.md, "The outbox"). */
#include "outbox.h"
#include "common.h"
#include "files.h"
#include "testhook.h"
#include "postie/posix_random.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAGIC "postie-outbox 1"
#define HEADER_MAX (64 * 1024)   /* the envelope part of a .msg file */
#define PASS_MAX 256             /* messages locked (and sent) per pass */
#define TMP_MAX_AGE (24 * 3600)  /* a --queue killed while writing leaves tmp/ files */

/* ---- small helpers ------------------------------------------------------ */

static char *path_of(const char *dir, const char *sub, const char *id, const char *ext)
{
    size_t n = strlen(dir) + strlen(sub) + (id ? strlen(id) : 0) + (ext ? strlen(ext) : 0) + 3;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s%s%s%s", dir, sub, id ? "/" : "", id ? id : "", ext ? ext : "");
    return p;
}

static int has_crlf(const char *s)
{
    return s && strpbrk(s, "\r\n") != NULL;
}

/* "2026-12-06 22:50:01" (local time). */
static void fmt_time(long long t, char *out, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    localtime_r(&tt, &tm);
    strftime(out, cap, "%Y-%m-%d %H:%M:%S", &tm);
}

/* "40 s", "12 min", "3 h", "2 d". */
static void fmt_span(long long s, char *out, size_t cap)
{
    if (s < 0)
        s = 0;
    if (s < 120)
        snprintf(out, cap, "%lld s", s);
    else if (s < 7200)
        snprintf(out, cap, "%lld min", s / 60);
    else if (s < 172800)
        snprintf(out, cap, "%lld h", s / 3600);
    else
        snprintf(out, cap, "%lld d", s / 86400);
}

int tool_outbox_parse_duration(const char *v, long long *out)
{
    char *end;
    long long n;
    if (!v || !*v)
        return -1;
    errno = 0;
    n = strtoll(v, &end, 10);
    if (errno || n < 0 || end == v || n > 100LL * 365 * 86400)
        return -1;
    switch (*end) {
    case '\0': case 's': break;
    case 'm': n *= 60; break;
    case 'h': n *= 3600; break;
    case 'd': n *= 86400; break;
    default: return -1;
    }
    if (*end && end[1])
        return -1;
    *out = n;
    return 0;
}

char *tool_outbox_dir(const char *dir, const tool_cfg *cfg)
{
    const char *v = dir ? dir : cfg ? tool_cfg_get(cfg, "smtp", "outbox") : NULL;
    const char *x, *home;
    char *r;
    size_t n;
    if (v)
        return tool_expand_home(v);
    x = getenv("XDG_STATE_HOME");
    home = getenv("HOME");
    if (x && x[0] == '/') {
        n = strlen(x) + 32;
        r = malloc(n);
        if (r)
            snprintf(r, n, "%s/postie/outbox", x);
        return r;
    }
    if (!home || !*home)
        return NULL;
    n = strlen(home) + 40;
    r = malloc(n);
    if (r)
        snprintf(r, n, "%s/.local/state/postie/outbox", home);
    return r;
}

/* The folders, created when missing (and their parents synced). 0 or an exit
 * code after one line. */
static int outbox_dirs(const char *dir)
{
    static const char *const sub[] = {"tmp", "queue", "failed"};
    size_t i;
    for (i = 0; i < 3; i++) {
        char *p = path_of(dir, sub[i], NULL, NULL);
        int r = p ? tool_mkdirs(p, 0700) : -1;
        if (r != 0) {
            tool_err("%s: cannot create the outbox: %s", p ? p : dir, strerror(errno));
            free(p);
            return TOOL_EX_CANTCREAT;
        }
        free(p);
    }
    if (tool_fsync_dir(dir) != 0) {
        tool_err("%s: sync failed: %s", dir, strerror(errno));
        return TOOL_EX_IOERR;
    }
    return 0;
}

/* path written with the n bytes of buf, synced; via path.tmp and a rename
 * when atomic. 0 or -1 (errno). */
static int write_file(const char *path, const char *buf, size_t n, int atomic)
{
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 5);
    const char *target = path;
    int fd, e;
    if (!tmp)
        return -1;
    if (atomic) {
        memcpy(tmp, path, pl);
        memcpy(tmp + pl, ".tmp", 5);
        target = tmp;
    }
    fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || tool_write_all(fd, buf, n) != 0 || fsync(fd) != 0) {
        e = errno;
        if (fd >= 0) {
            close(fd);
            unlink(target);
        }
        free(tmp);
        errno = e;
        return -1;
    }
    if (close(fd) != 0 || (atomic && rename(tmp, path) != 0)) {
        e = errno;
        unlink(target);
        free(tmp);
        errno = e;
        return -1;
    }
    free(tmp);
    return 0;
}

/* A whole file into memory (NUL-terminated). NULL (errno) on failure. */
static char *slurp_fd(int fd, size_t *len)
{
    size_t cap = 8192, n = 0;
    char *b = malloc(cap);
    if (!b)
        return NULL;
    for (;;) {
        ssize_t r;
        if (cap - n < 4096) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) {
                free(b);
                errno = ENOMEM;
                return NULL;
            }
            b = nb;
        }
        r = pread(fd, b + n, cap - n - 1, (off_t)n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            free(b);
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    b[n] = '\0';
    *len = n;
    return b;
}

static char *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *r;
    int e;
    if (fd < 0)
        return NULL;
    r = slurp_fd(fd, len);
    e = errno;
    close(fd);
    errno = e;
    return r;
}

/* A server's text made one line (CR, LF and other controls as spaces). */
static void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = ' ';
}

/* ---- the log -------------------------------------------------------------- */

/* One outcome: "ID: text" on standard output (escaped; a message sent is
 * not shown with -q), and with the time in DIR/log (one write: lines of two
 * flushes never interleave). */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static void outcome_x(int ok, const char *dir, const char *id, const char *fmt, ...)
{
    char text[2048], line[2300], ts[32];
    va_list ap;
    time_t now = time(NULL);
    struct tm tm;
    char *lp;
    int fd, n;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    one_line(text);
    if (!ok || tool_verbosity >= 0) {
        fputs(id, stdout);
        fputs(": ", stdout);
        tool_escape(stdout, text, strlen(text));
        fputc('\n', stdout);
        fflush(stdout);
    }
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    n = snprintf(line, sizeof line, "%s %s: %s\n", ts, id, text);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line)
        n = (int)sizeof line - 1, line[n - 1] = '\n';
    lp = path_of(dir, "log", NULL, NULL);
    if (!lp)
        return;
    fd = open(lp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0) {
        if (tool_write_all(fd, line, (size_t)n) != 0)
            tool_err("%s: %s", lp, strerror(errno));
        close(fd);
    }
    free(lp);
}

#define outcome(...) outcome_x(0, __VA_ARGS__)

/* ---- queueing --------------------------------------------------------------- */

/* An absolute form of a path given relative to the current folder (a
 * flush may run elsewhere). malloc'd. */
static char *absolute(const char *p)
{
    char cwd[4096];
    char *r;
    size_t n;
    if (!p || p[0] == '/' || p[0] == '~' || !getcwd(cwd, sizeof cwd))
        return p ? tool_strdup(p) : NULL;
    n = strlen(cwd) + strlen(p) + 2;
    r = malloc(n);
    if (r)
        snprintf(r, n, "%s/%s", cwd, p);
    return r;
}

static int add(char **buf, size_t *len, size_t *cap, const char *key, const char *val)
{
    size_t need = strlen(key) + strlen(val) + 2;
    if (*len + need + 1 > *cap) {
        size_t nc = (*cap + need) * 2;
        char *nb = realloc(*buf, nc);
        if (!nb)
            return -1;
        *buf = nb;
        *cap = nc;
    }
    *len += (size_t)sprintf(*buf + *len, "%s %s\n", key, val);
    return 0;
}

/* A new ID: the time (sortable: the queue is sent in that order), the
 * process and 32 random bits. */
static void new_id(char *id, size_t cap)
{
    struct timeval tv;
    unsigned r = 0;
    gettimeofday(&tv, NULL);
    if (postie_posix_random(NULL, &r, sizeof r) != POSTIE_OK)
        r = (unsigned)tv.tv_usec ^ (unsigned)getpid();
    snprintf(id, cap, "%010lld.%06ld.%ld.%08x", (long long)tv.tv_sec, (long)tv.tv_usec,
             (long)getpid(), r);
}

int tool_outbox_enqueue(const char *dir, const tool_outbox_acct *a, const char *from,
                        const tool_strv *rcpts, const char *msg, size_t len)
{
    char id[96], num[32];
    char *hdr = NULL, *cfgabs = NULL, *caabs = NULL, *tmp = NULL, *dst = NULL, *qdir = NULL;
    size_t hl = 0, hc = 0, i;
    int rc, fd = -1;
    const char *vals[8];
    static const char *const keys[8] = {"account", "config", "host", "port",
                                        "user", "tls", "cafile", "timeout"};

    cfgabs = absolute(a->config);
    caabs = absolute(a->cafile);
    vals[0] = a->account; vals[1] = cfgabs; vals[2] = a->host; vals[3] = a->port;
    vals[4] = a->user; vals[5] = a->tls; vals[6] = caabs; vals[7] = a->timeout;
    for (i = 0; i < 8; i++)
        if (has_crlf(vals[i])) {
            tool_err("--%s holds a line break; nothing was queued", keys[i]);
            rc = TOOL_EX_USAGE;
            goto out;
        }
    if (has_crlf(from)) {
        tool_err("the sender holds a line break; nothing was queued");
        rc = TOOL_EX_DATAERR;
        goto out;
    }
    for (i = 0; i < rcpts->n; i++)
        if (has_crlf(rcpts->v[i])) {
            tool_err("a recipient holds a line break; nothing was queued");
            rc = TOOL_EX_DATAERR;
            goto out;
        }
    if ((rc = outbox_dirs(dir)) != 0)
        goto out;
    rc = TOOL_EX_OSERR;
    if (add(&hdr, &hl, &hc, MAGIC, "") != 0)
        goto oom;
    hl--; /* "postie-outbox 1 \n" -> no trailing space */
    hdr[hl - 1] = '\n';
    for (i = 0; i < 8; i++)
        if (vals[i] && add(&hdr, &hl, &hc, keys[i], vals[i]) != 0)
            goto oom;
    if (add(&hdr, &hl, &hc, "from", from ? from : "") != 0)
        goto oom;
    for (i = 0; i < rcpts->n; i++)
        if (add(&hdr, &hl, &hc, "rcpt", rcpts->v[i]) != 0)
            goto oom;
    snprintf(num, sizeof num, "%lld", (long long)time(NULL));
    if (add(&hdr, &hl, &hc, "queued", num) != 0)
        goto oom;
    if (hl + 1 > HEADER_MAX) {
        tool_err("the envelope is too large for the outbox (%zu recipients, over %d bytes); "
                 "nothing was queued", rcpts->n, HEADER_MAX);
        rc = TOOL_EX_USAGE;
        goto out;
    }
    new_id(id, sizeof id);
    tmp = path_of(dir, "tmp", id, ".msg");
    dst = path_of(dir, "queue", id, ".msg");
    qdir = path_of(dir, "queue", NULL, NULL);
    if (!tmp || !dst || !qdir)
        goto oom;
    /* 1. tmp/ID.msg: the envelope, a blank line, the message; synced */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        tool_err("%s: %s; nothing was queued", tmp, strerror(errno));
        rc = TOOL_EX_CANTCREAT;
        goto out;
    }
    if (tool_write_all(fd, hdr, hl) != 0 || tool_write_all(fd, "\n", 1) != 0 ||
        tool_write_all(fd, msg, len) != 0 || fsync(fd) != 0 || close(fd) != 0) {
        tool_err("%s: %s; nothing was queued", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        rc = TOOL_EX_IOERR;
        goto out;
    }
    tool_test_kill_point("queue-written");
    /* 2. renamed into queue/, which is synced: then it is safe */
    if (rename(tmp, dst) != 0) {
        tool_err("%s: %s; nothing was queued", dst, strerror(errno));
        unlink(tmp);
        rc = TOOL_EX_CANTCREAT;
        goto out;
    }
    if (tool_fsync_dir(qdir) != 0) {
        /* it may or may not survive a power loss: say so, exit non-zero */
        tool_err("%s: sync failed (%s); the message is queued as %s but may not survive a "
                 "crash", qdir, strerror(errno), id);
        rc = TOOL_EX_IOERR;
        goto out;
    }
    tool_test_kill_point("queued");
    tool_info("queued as %s in %s", id, dir);
    rc = 0;
    goto out;
oom:
    tool_err("out of memory; nothing was queued");
out:
    free(hdr);
    free(cfgabs);
    free(caabs);
    free(tmp);
    free(dst);
    free(qdir);
    return rc;
}

/* ---- reading the queue -------------------------------------------------- */

typedef struct item {
    char id[96];
    tool_outbox_acct acct;
    char *from;
    tool_strv rcpts;
    long long queued;
    size_t size;           /* of the message (the file less its envelope) */
    size_t body_off;       /* where the message starts in the file */
    /* ID.st */
    unsigned attempts;
    long long next;
    int unknown;           /* an earlier attempt's reply was lost */
    char last[1024];
    int fd;                /* locked ID.msg, or -1 */
    int done;              /* sent, deferred, moved: nothing more this run */
} item;

/* it->last = s, cut to fit. */
static void set_last(item *it, const char *s)
{
    size_t n = strlen(s);
    if (n >= sizeof it->last)
        n = sizeof it->last - 1;
    memmove(it->last, s, n);
    it->last[n] = '\0';
}

static void item_free(item *it)
{
    char **f[8];
    size_t i;
    f[0] = &it->acct.account; f[1] = &it->acct.config; f[2] = &it->acct.host;
    f[3] = &it->acct.port; f[4] = &it->acct.user; f[5] = &it->acct.tls;
    f[6] = &it->acct.cafile; f[7] = &it->acct.timeout;
    for (i = 0; i < 8; i++) {
        free(*f[i]);
        *f[i] = NULL;
    }
    free(it->from);
    it->from = NULL;
    tool_strv_free(&it->rcpts);
    if (it->fd >= 0) {
        close(it->fd); /* and the lock goes with it */
        it->fd = -1;
    }
}

/* The envelope of an open .msg file. 0, or -1 with a reason in err. */
static int parse_header(item *it, int fd, char *err, size_t errcap)
{
    char buf[HEADER_MAX + 1];
    ssize_t n = pread(fd, buf, HEADER_MAX, 0);
    char *p, *end;
    int first = 1;
    struct stat sb;
    if (n < 0 || fstat(fd, &sb) != 0) {
        snprintf(err, errcap, "cannot read: %s", strerror(errno));
        return -1;
    }
    buf[n] = '\0';
    p = buf;
    for (;;) {
        char *nl = memchr(p, '\n', (size_t)(buf + n - p)), *sp;
        char **slot = NULL;
        if (!nl) {
            snprintf(err, errcap, "not an outbox file (no end of the envelope)");
            return -1;
        }
        *nl = '\0';
        if (p == nl) { /* the blank line */
            it->body_off = (size_t)(nl + 1 - buf);
            break;
        }
        if (first) {
            if (strcmp(p, MAGIC) != 0) {
                snprintf(err, errcap, "not an outbox file (first line)");
                return -1;
            }
            first = 0;
            p = nl + 1;
            continue;
        }
        sp = strchr(p, ' ');
        if (!sp) {
            snprintf(err, errcap, "malformed envelope line");
            return -1;
        }
        *sp++ = '\0';
        if (strcmp(p, "account") == 0) slot = &it->acct.account;
        else if (strcmp(p, "config") == 0) slot = &it->acct.config;
        else if (strcmp(p, "host") == 0) slot = &it->acct.host;
        else if (strcmp(p, "port") == 0) slot = &it->acct.port;
        else if (strcmp(p, "user") == 0) slot = &it->acct.user;
        else if (strcmp(p, "tls") == 0) slot = &it->acct.tls;
        else if (strcmp(p, "cafile") == 0) slot = &it->acct.cafile;
        else if (strcmp(p, "timeout") == 0) slot = &it->acct.timeout;
        else if (strcmp(p, "from") == 0) slot = &it->from;
        else if (strcmp(p, "rcpt") == 0) {
            if (tool_strv_add(&it->rcpts, sp) != 0) {
                snprintf(err, errcap, "out of memory");
                return -1;
            }
        } else if (strcmp(p, "queued") == 0) {
            it->queued = strtoll(sp, &end, 10);
        } else {
            snprintf(err, errcap, "unknown envelope key '%.40s'", p);
            return -1;
        }
        if (slot) {
            free(*slot);
            if (!(*slot = tool_strdup(sp))) {
                snprintf(err, errcap, "out of memory");
                return -1;
            }
        }
        p = nl + 1;
    }
    if (!it->from || it->rcpts.n == 0) {
        snprintf(err, errcap, "the envelope has no sender or no recipient");
        return -1;
    }
    it->size = (size_t)sb.st_size - it->body_off;
    return 0;
}

/* ID.st of the queue (or of failed/), when there is one. */
static void read_st(const char *path, item *it)
{
    size_t len;
    char *b = slurp(path, &len), *p, *nl;
    if (!b)
        return;
    for (p = b; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = '\0';
        if (strncmp(p, "attempts ", 9) == 0)
            it->attempts = (unsigned)strtoul(p + 9, NULL, 10);
        else if (strncmp(p, "next ", 5) == 0)
            it->next = strtoll(p + 5, NULL, 10);
        else if (strncmp(p, "unknown ", 8) == 0)
            it->unknown = atoi(p + 8);
        else if (strncmp(p, "last ", 5) == 0)
            set_last(it, p + 5);
    }
    free(b);
}

static int write_st(const char *path, const item *it, const char *moved)
{
    char buf[1400];
    int n = snprintf(buf, sizeof buf, "attempts %u\nnext %lld\nunknown %d\n%s%s%slast %s\n",
                     it->attempts, it->next, it->unknown, moved ? "moved " : "",
                     moved ? moved : "", moved ? "\n" : "", it->last);
    if (n < 0 || (size_t)n >= sizeof buf)
        n = (int)strlen(buf);
    return write_file(path, buf, (size_t)n, 1);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The IDs in sub/ with extension ".msg", sorted (oldest first). */
static char **list_ids(const char *dir, const char *sub, size_t *n)
{
    char *p = path_of(dir, sub, NULL, NULL);
    DIR *d = p ? opendir(p) : NULL;
    struct dirent *de;
    char **v = NULL;
    size_t cap = 0;
    *n = 0;
    free(p);
    if (!d)
        return NULL;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l < 5 || l >= 96 || strcmp(de->d_name + l - 4, ".msg") != 0 || de->d_name[0] == '.')
            continue;
        if (*n == cap) {
            char **nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof *v);
            if (!nv)
                break;
            v = nv;
        }
        if (!(v[*n] = tool_strndup(de->d_name, l - 4)))
            break;
        (*n)++;
    }
    closedir(d);
    if (*n)
        qsort(v, *n, sizeof *v, cmp_str);
    return v;
}

static void free_ids(char **v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* ---- the listing ----------------------------------------------------------- */

static void show_env(const item *it)
{
    size_t i;
    char b[32], t[32];
    tool_fmt_bytes((double)it->size, b, sizeof b);
    fmt_time(it->queued, t, sizeof t);
    printf("  %s, queued %s; from <", b, t);
    tool_escape(stdout, it->from, strlen(it->from));
    fputs("> to ", stdout);
    for (i = 0; i < it->rcpts.n; i++) {
        fputs(i ? ", <" : "<", stdout);
        tool_escape(stdout, it->rcpts.v[i], strlen(it->rcpts.v[i]));
        fputc('>', stdout);
    }
    if (it->acct.account) {
        fputs("; account ", stdout);
        tool_escape(stdout, it->acct.account, strlen(it->acct.account));
    } else if (it->acct.host) {
        fputs("; server ", stdout);
        tool_escape(stdout, it->acct.host, strlen(it->acct.host));
    }
    fputc('\n', stdout);
}

int tool_outbox_list(const char *dir)
{
    size_t n, nf, k;
    char **ids = list_ids(dir, "queue", &n), **fids = list_ids(dir, "failed", &nf);
    long long now = (long long)time(NULL);
    for (k = 0; k < n; k++) {
        item it;
        char err[256], *mp = path_of(dir, "queue", ids[k], ".msg");
        char *sp = path_of(dir, "queue", ids[k], ".st");
        char *ep = path_of(dir, "queue", ids[k], ".end");
        struct stat sb;
        memset(&it, 0, sizeof it);
        it.fd = mp ? open(mp, O_RDONLY | O_CLOEXEC) : -1;
        fputs(ids[k], stdout);
        if (it.fd < 0) {
            puts(": sent or moved just now");
        } else if (parse_header(&it, it.fd, err, sizeof err) != 0) {
            printf(": unreadable (%s); left as it is\n", err);
        } else {
            int busy = flock(it.fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
            char t[32], s[32];
            if (!busy)
                (void)flock(it.fd, LOCK_UN); /* at once: a flush may want it */
            read_st(sp, &it);
            if (busy)
                puts(": being sent by a flush now");
            else if (ep && stat(ep, &sb) == 0)
                puts(": a flush stopped after its end went out, before the server's reply was "
                     "recorded; the next flush sends it again (it may arrive twice)");
            else if (it.attempts == 0)
                puts(": waiting for the first flush");
            else if (it.next > now) {
                fmt_time(it.next, t, sizeof t);
                fmt_span(it.next - now, s, sizeof s);
                printf(": deferred, %u attempt%s; next try from %s (in %s)\n", it.attempts,
                       it.attempts == 1 ? "" : "s", t, s);
            } else {
                printf(": deferred, %u attempt%s; due at the next flush\n", it.attempts,
                       it.attempts == 1 ? "" : "s");
            }
            show_env(&it);
            if (it.last[0]) {
                fputs("  last: ", stdout);
                tool_escape(stdout, it.last, strlen(it.last));
                fputc('\n', stdout);
            }
            if (it.unknown)
                puts("  an earlier attempt's reply was lost: the recipients may get it twice");
        }
        item_free(&it);
        free(mp);
        free(sp);
        free(ep);
    }
    for (k = 0; k < nf; k++) {
        item it;
        char err[256], *mp = path_of(dir, "failed", fids[k], ".msg");
        char *sp = path_of(dir, "failed", fids[k], ".st");
        memset(&it, 0, sizeof it);
        it.fd = mp ? open(mp, O_RDONLY | O_CLOEXEC) : -1;
        printf("failed/%s", fids[k]);
        if (it.fd < 0 || parse_header(&it, it.fd, err, sizeof err) != 0) {
            puts(": unreadable");
        } else {
            read_st(sp, &it);
            puts(": not sent, moved aside");
            show_env(&it);
            fputs("  why: ", stdout);
            tool_escape(stdout, it.last[0] ? it.last : "(no reason recorded)",
                        strlen(it.last[0] ? it.last : "(no reason recorded)"));
            fputc('\n', stdout);
        }
        item_free(&it);
        free(mp);
        free(sp);
    }
    printf("%zu message%s waiting in %s/queue, %zu moved aside in %s/failed\n", n,
           n == 1 ? "" : "s", dir, nf, dir);
    free_ids(ids, n);
    free_ids(fids, nf);
    return 0;
}

/* ---- flushing -------------------------------------------------------------- */

typedef struct flush_run {
    const char *dir;
    const tool_outbox_ops *ops;
    char *qdir, *fdir;
    int rc;
    size_t nsent, ndeferred, nfailed, nwaiting, nbusy, nunknown;
    /* the message being sent: for the end hook */
    item *cur;
    int hook_failed;
} flush_run;

static void note(flush_run *r, int code)
{
    if (!r->rc)
        r->rc = code;
}

static char *qpath(flush_run *r, const item *it, const char *ext)
{
    return path_of(r->dir, "queue", it->id, ext);
}

static void unlink_q(flush_run *r, const item *it, const char *ext)
{
    char *p = qpath(r, it, ext);
    if (p)
        unlink(p);
    free(p);
}

/* The end marker: ID.end written and synced (with its folder) before the
 * end of the message goes out, so a flush killed later knows it may have
 * been delivered. */
static int end_hook(void *u, int sent)
{
    flush_run *r = u;
    char buf[64], *p;
    int n;
    if (sent) {
        tool_test_kill_point("end-sent");
        return 0;
    }
    p = qpath(r, r->cur, ".end");
    n = snprintf(buf, sizeof buf, "pid %ld time %lld\n", (long)getpid(), (long long)time(NULL));
    if (!p || write_file(p, buf, (size_t)n, 0) != 0 || tool_fsync_dir(r->qdir) != 0) {
        tool_err("%s: %s: the message is not sent", p ? p : r->qdir, strerror(errno));
        free(p);
        r->hook_failed = 1;
        return -1;
    }
    free(p);
    tool_test_kill_point("end-marked");
    return 0;
}

/* Moves it aside into failed/ with why: failed/ID.st first (the reason,
 * synced), then the rename of the message, then the queue's leftovers. */
static int move_aside(flush_run *r, item *it, const char *why)
{
    char *fst = path_of(r->dir, "failed", it->id, ".st");
    char *fmsg = path_of(r->dir, "failed", it->id, ".msg");
    char *qmsg = qpath(r, it, ".msg");
    char when[32];
    int rc = -1;
    fmt_time((long long)time(NULL), when, sizeof when);
    set_last(it, why);
    one_line(it->last);
    if (fst && fmsg && qmsg && write_st(fst, it, when) == 0 && tool_fsync_dir(r->fdir) == 0 &&
        rename(qmsg, fmsg) == 0 && tool_fsync_dir(r->fdir) == 0 &&
        tool_fsync_dir(r->qdir) == 0) {
        tool_test_kill_point("moved");
        unlink_q(r, it, ".st");
        unlink_q(r, it, ".end");
        rc = 0;
    } else {
        tool_err("%s: cannot move it aside into %s: %s (it stays queued)", it->id, r->fdir,
                 strerror(errno));
    }
    free(fst);
    free(fmsg);
    free(qmsg);
    return rc;
}

/* After a temporary failure (why): the next try after an exponential
 * back-off with jitter, or, past the maximum age, moved aside. */
static void defer(flush_run *r, item *it, const char *why, long long rmin, long long rmax,
                  long long max_age)
{
    long long now = (long long)time(NULL), delay = rmin, jit = 0;
    unsigned i;
    unsigned rnd = 0;
    char *sp;
    char t[32], s[32];
    it->attempts++;
    set_last(it, why);
    one_line(it->last);
    if (now - it->queued >= max_age) {
        char reason[1200], span[32];
        fmt_span(now - it->queued, span, sizeof span);
        snprintf(reason, sizeof reason, "expired: not sent within %s (%u attempts); last: %s",
                 span, it->attempts, it->last);
        if (move_aside(r, it, reason) == 0) {
            outcome(r->dir, it->id, "%s; moved to failed/", reason);
            r->nfailed++;
            note(r, TOOL_EX_UNAVAILABLE);
            return;
        }
    }
    for (i = 1; i < it->attempts && delay < rmax; i++)
        delay *= 2;
    if (delay > rmax)
        delay = rmax;
    if (delay < 1)
        delay = 1;
    (void)postie_posix_random(NULL, &rnd, sizeof rnd);
    if (delay >= 2)
        jit = (long long)(rnd % (unsigned long long)(delay / 2 + 1));
    /* equal jitter: between half the delay and the delay */
    it->next = now + delay - delay / 2 + jit;
    sp = qpath(r, it, ".st");
    if (!sp || write_st(sp, it, NULL) != 0)
        tool_err("%s: cannot record the retry (%s); it is tried again at the next flush",
                 it->id, strerror(errno));
    free(sp);
    unlink_q(r, it, ".end");
    tool_test_kill_point("deferred");
    fmt_time(it->next, t, sizeof t);
    fmt_span(it->next - now, s, sizeof s);
    outcome(r->dir, it->id, "deferred (%s); attempt %u, next try from %s (in %s)", it->last,
            it->attempts, t, s);
    r->ndeferred++;
    note(r, TOOL_EX_TEMPFAIL);
}

/* "451 4.3.0 text" of the session's last reply. */
static void reply_of(postie_smtp *s, char *out, size_t cap)
{
    const char *enh = postie_smtp_reply_enhanced(s);
    if (postie_smtp_reply_code(s))
        snprintf(out, cap, "%d%s%s %s", postie_smtp_reply_code(s), enh[0] ? " " : "", enh,
                 postie_smtp_reply_text(s));
    else
        snprintf(out, cap, "no reply");
    one_line(out);
}

/* Sends one message over the session; records and logs its outcome.
 * Returns 1 when the session is still usable. */
static int send_one(flush_run *r, postie_smtp *s, item *it, long long rmin, long long rmax,
                    long long max_age)
{
    char *data = NULL, reply[700], why[1200];
    size_t flen = 0, i;
    postie_smtp_envelope env;
    postie_smtp_rcpt *er = calloc(it->rcpts.n, sizeof *er);
    postie_status st;
    int alive;
    if (er)
        data = slurp_fd(it->fd, &flen);
    if (!er || !data || flen < it->body_off) {
        tool_err("%s: cannot read it (%s); it stays queued", it->id, strerror(errno));
        free(er);
        free(data);
        note(r, TOOL_EX_IOERR);
        return 1;
    }
    memset(&env, 0, sizeof env);
    for (i = 0; i < it->rcpts.n; i++)
        er[i].addr = it->rcpts.v[i];
    env.from = it->from;
    env.rcpts = er;
    env.nrcpts = it->rcpts.n;
    /* a recipient refused: nothing is sent (RSET), so the message is either
     * sent to all or kept (4xx) or moved aside (5xx) whole */
    env.on_refused = POSTIE_SMTP_REFUSED_ABORT;
    r->cur = it;
    r->hook_failed = 0;
    r->ops->end_hook(r->ops->ctx, end_hook, r);
    st = postie_smtp_send_buf(s, &env, data + it->body_off, flen - it->body_off);
    r->ops->end_hook(r->ops->ctx, NULL, NULL);
    alive = s->state != POSTIE_SMTP_STATE_CLOSED;
    reply_of(s, reply, sizeof reply);
    if (st == POSTIE_OK) {
        /* 1. the message leaves the queue (that is what counts), synced */
        char *mp = qpath(r, it, ".msg");
        if (!mp || unlink(mp) != 0 || tool_fsync_dir(r->qdir) != 0)
            tool_err("%s: sent, but cannot remove it from the queue (%s): it would be sent "
                     "again", it->id, strerror(errno));
        free(mp);
        tool_test_kill_point("sent");
        unlink_q(r, it, ".end");
        unlink_q(r, it, ".st");
        outcome_x(!it->unknown, r->dir, it->id, "sent to %zu recipient%s (%s)%s", it->rcpts.n,
                it->rcpts.n == 1 ? "" : "s", reply,
                it->unknown ? "; an earlier attempt's reply was lost, so the recipients may "
                              "have it twice" : "");
        r->nsent++;
    } else if (st == POSTIE_ERR_RECIPIENTS) {
        int permanent = 0;
        size_t o = 0;
        for (i = 0; i < it->rcpts.n && o < sizeof why - 200; i++) {
            if (er[i].status == POSTIE_OK)
                continue;
            permanent |= er[i].status == POSTIE_ERR_SERVER;
            o += (size_t)snprintf(why + o, sizeof why - o, "%srecipient <%s> refused: %d%s%s",
                                  o ? "; " : "", er[i].addr, er[i].code,
                                  er[i].enhanced[0] ? " " : "", er[i].enhanced);
        }
        if (o == 0)
            snprintf(why, sizeof why, "recipients refused (%s)", reply);
        if (permanent) {
            if (move_aside(r, it, why) == 0) {
                outcome(r->dir, it->id, "refused, not sent to anyone: %s; moved to failed/",
                        why);
                r->nfailed++;
            }
            note(r, TOOL_EX_NOUSER);
        } else {
            defer(r, it, why, rmin, rmax, max_age);
        }
    } else if (st == POSTIE_ERR_SERVER || st == POSTIE_ERR_TOO_BIG || st == POSTIE_ERR_PARAM ||
               st == POSTIE_ERR_UNSUPPORTED) {
        if (st == POSTIE_ERR_SERVER || st == POSTIE_ERR_TOO_BIG)
            snprintf(why, sizeof why, "refused by the server: %s", reply);
        else
            snprintf(why, sizeof why, "cannot be sent: %s", postie_strerror(st));
        if (move_aside(r, it, why) == 0) {
            outcome(r->dir, it->id, "%s; moved to failed/", why);
            r->nfailed++;
        }
        note(r, TOOL_EX_UNAVAILABLE);
    } else if (st != POSTIE_ERR_TRANSIENT && r->ops->end_sent(r->ops->ctx) && !r->hook_failed &&
               postie_smtp_reply_code(s) / 100 != 4 && postie_smtp_reply_code(s) / 100 != 5) {
        /* POSTIE_ERR_OUTCOME_UNKNOWN: its end went out, its reply was lost */
        char *sp = qpath(r, it, ".st");
        it->unknown = 1;
        snprintf(why, sizeof why, "the connection was lost after the end of the message went "
                 "out and before the server's reply (%s)", postie_strerror(st));
        it->attempts++;
        set_last(it, why);
        it->next = 0;
        if (!sp || write_st(sp, it, NULL) != 0)
            tool_err("%s: cannot record the attempt (%s)", it->id, strerror(errno));
        free(sp);
        unlink_q(r, it, ".end");
        outcome(r->dir, it->id, "may have been delivered: %s; it stays queued and the next "
                "flush sends it again, so the recipients may get it twice",
                why);
        r->nunknown++;
        note(r, TOOL_EX_TEMPFAIL);
    } else {
        /* 4xx, or the connection lost before the end went out */
        if (st == POSTIE_ERR_TRANSIENT)
            snprintf(why, sizeof why, "%s", reply);
        else
            snprintf(why, sizeof why, "not sent: %s", postie_strerror(st));
        defer(r, it, why, rmin, rmax, max_age);
    }
    free(er);
    free(data);
    return alive;
}

/* Locks queue/ID.msg and reads it with its state; settles what an
 * interrupted flush left. 0: locked and ready (it->fd); 1: skip (busy,
 * gone, unreadable or moved aside now). */
static int take(flush_run *r, const char *id, item *it)
{
    char err[256], *mp, *sp, *ep, *fst;
    struct stat a, b;
    memset(it, 0, sizeof *it);
    it->fd = -1;
    snprintf(it->id, sizeof it->id, "%s", id);
    mp = qpath(r, it, ".msg");
    sp = qpath(r, it, ".st");
    ep = qpath(r, it, ".end");
    fst = path_of(r->dir, "failed", id, ".st");
    if (!mp || !sp || !ep || !fst)
        goto skip;
    it->fd = open(mp, O_RDONLY | O_CLOEXEC);
    if (it->fd < 0)
        goto skip; /* sent or moved by another flush just now */
    if (flock(it->fd, LOCK_EX | LOCK_NB) != 0) {
        r->nbusy++;
        goto skip;
    }
    /* still the queue's file once locked (another flush may have finished it) */
    if (fstat(it->fd, &a) != 0 || stat(mp, &b) != 0 || a.st_ino != b.st_ino ||
        a.st_dev != b.st_dev)
        goto skip;
    if (parse_header(it, it->fd, err, sizeof err) != 0) {
        tool_err("%s: %s; left in the queue as it is", mp, err);
        note(r, TOOL_EX_DATAERR);
        goto skip;
    }
    read_st(sp, it);
    if (stat(fst, &b) == 0) {
        /* a flush was moving it aside when it stopped: finish that */
        item f;
        memset(&f, 0, sizeof f);
        read_st(fst, &f);
        if (move_aside(r, it, f.last[0] ? f.last : "refused (reason lost)") == 0)
            outcome(r->dir, it->id, "moved to failed/ (an interrupted flush had begun to): %s",
                    it->last);
        goto skip;
    }
    if (stat(ep, &b) == 0) {
        /* killed between the end marker and recording the reply */
        it->unknown = 1;
        it->attempts++;
        it->next = 0;
        set_last(it, "a flush stopped after the end of the message went out and before the "
                     "server's reply was recorded");
        /* said first: a flush killed here says it again next time */
        outcome(r->dir, it->id, "may have been delivered: %s; it is sent again, so the "
                "recipients may get it twice", it->last);
        r->nunknown++;
        if (write_st(sp, it, NULL) != 0) {
            tool_err("%s: %s", sp, strerror(errno));
            goto skip;
        }
        unlink(ep);
        (void)tool_fsync_dir(r->qdir);
    }
    free(mp);
    free(sp);
    free(ep);
    free(fst);
    return 0;
skip:
    item_free(it);
    free(mp);
    free(sp);
    free(ep);
    free(fst);
    return 1;
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int same_acct(const tool_outbox_acct *a, const tool_outbox_acct *b)
{
    return same_str(a->account, b->account) && same_str(a->config, b->config) &&
           same_str(a->host, b->host) && same_str(a->port, b->port) &&
           same_str(a->user, b->user) && same_str(a->tls, b->tls) &&
           same_str(a->cafile, b->cafile) && same_str(a->timeout, b->timeout);
}

/* A duration setting of the account, or dflt. */
static long long cfg_span(const tool_cfg *cfg, const char *key, long long dflt)
{
    const char *v = cfg ? tool_cfg_get(cfg, "smtp", key) : NULL;
    long long x;
    if (!v)
        return dflt;
    if (tool_outbox_parse_duration(v, &x) != 0) {
        tool_err("'%s %s' is not a duration (like 90s, 15m, 2h, 5d); using %llds", key, v,
                 dflt);
        return dflt;
    }
    return x;
}

/* The messages of one account in items[0..n): the due ones over one
 * connection. */
static void flush_group(flush_run *r, item **g, size_t n)
{
    const tool_cfg *cfg = NULL;
    postie_smtp *s = NULL;
    long long now = (long long)time(NULL), rmin, rmax, max_age;
    size_t i, due = 0;
    int ex;
    tool_last_err[0] = '\0';
    ex = r->ops->resolve(r->ops->ctx, &g[0]->acct, &cfg);
    rmin = cfg_span(cfg, "outbox_retry_min", 60);
    rmax = cfg_span(cfg, "outbox_retry_max", 3600);
    max_age = cfg_span(cfg, "outbox_max_age", 5 * 86400);
    if (rmax < rmin)
        rmax = rmin;
    for (i = 0; i < n; i++) {
        if (g[i]->next > now && !g[i]->unknown) {
            r->nwaiting++;
            g[i]->done = 1;
        } else {
            due++;
        }
    }
    if (due == 0) {
        r->ops->close(r->ops->ctx, 0);
        return;
    }
    if (ex == 0)
        ex = r->ops->login(r->ops->ctx, &s);
    if (ex != 0) {
        char why[700];
        snprintf(why, sizeof why, "not sent: %s", tool_last_err[0] ? tool_last_err
                                                                   : "cannot reach the server");
        for (i = 0; i < n; i++)
            if (!g[i]->done) {
                defer(r, g[i], why, rmin, rmax, max_age);
                g[i]->done = 1;
            }
        /* the first cause is the run's exit code (not 75 for all) */
        if (r->rc == TOOL_EX_TEMPFAIL || !r->rc)
            r->rc = ex;
        r->ops->close(r->ops->ctx, 0);
        return;
    }
    for (i = 0; i < n; i++) {
        if (g[i]->done)
            continue;
        g[i]->done = 1;
        if (!send_one(r, s, g[i], rmin, rmax, max_age)) {
            size_t k, left = 0;
            for (k = i + 1; k < n; k++)
                left += !g[k]->done;
            if (left)
                tool_err("the connection ended; %zu message%s left for the next flush", left,
                         left == 1 ? "" : "s");
            r->ops->close(r->ops->ctx, 0);
            return;
        }
    }
    r->ops->close(r->ops->ctx, 1);
}

/* Removes leftovers: queue/ID.st and .end of messages no longer queued,
 * tmp/ files older than a day (a --queue killed while writing: it did not
 * exit 0, so its sender still holds the message). */
static void tidy(flush_run *r)
{
    char *tdir = path_of(r->dir, "tmp", NULL, NULL);
    DIR *d;
    struct dirent *de;
    long long now = (long long)time(NULL);
    if (tdir && (d = opendir(tdir)) != NULL) {
        while ((de = readdir(d)) != NULL) {
            struct stat sb;
            char *p;
            if (de->d_name[0] == '.')
                continue;
            p = path_of(r->dir, "tmp", de->d_name, NULL);
            if (p && stat(p, &sb) == 0 && now - (long long)sb.st_mtime > TMP_MAX_AGE)
                unlink(p);
            free(p);
        }
        closedir(d);
    }
    free(tdir);
    if ((d = opendir(r->qdir)) != NULL) {
        static const char *const sfx[] = {".st.tmp", ".st", ".end"};
        while ((de = readdir(d)) != NULL) {
            size_t l = strlen(de->d_name), i, sl;
            for (i = 0; i < 3; i++) {
                sl = strlen(sfx[i]);
                if (l > sl && l < 96 && strcmp(de->d_name + l - sl, sfx[i]) == 0)
                    break;
            }
            if (i < 3 && de->d_name[0] != '.') {
                char id[96], *p, *m;
                struct stat sb;
                snprintf(id, sizeof id, "%.*s", (int)(l - sl), de->d_name);
                p = path_of(r->dir, "queue", de->d_name, NULL);
                m = path_of(r->dir, "queue", id, ".msg");
                /* a minute old: not a flush that is writing it now */
                if (p && m && stat(m, &sb) != 0 && errno == ENOENT && stat(p, &sb) == 0 &&
                    now - (long long)sb.st_mtime > 60)
                    unlink(p);
                free(p);
                free(m);
            }
        }
        closedir(d);
    }
}

int tool_outbox_flush(const char *dir, const char *only_account, const tool_outbox_ops *ops)
{
    flush_run r;
    size_t n, k = 0, i;
    char **ids;
    int ex;
    memset(&r, 0, sizeof r);
    r.dir = dir;
    r.ops = ops;
    if ((ex = outbox_dirs(dir)) != 0)
        return ex;
    r.qdir = path_of(dir, "queue", NULL, NULL);
    r.fdir = path_of(dir, "failed", NULL, NULL);
    if (!r.qdir || !r.fdir) {
        free(r.qdir);
        free(r.fdir);
        tool_err("out of memory");
        return TOOL_EX_OSERR;
    }
    ids = list_ids(dir, "queue", &n);
    while (k < n) {
        /* a pass: up to PASS_MAX messages locked, grouped by account */
        item *items = calloc(PASS_MAX, sizeof *items);
        item **grp = calloc(PASS_MAX, sizeof *grp);
        size_t ni = 0;
        if (!items || !grp) {
            free(items);
            free(grp);
            tool_err("out of memory");
            note(&r, TOOL_EX_OSERR);
            break;
        }
        for (; k < n && ni < PASS_MAX; k++) {
            if (take(&r, ids[k], &items[ni]) != 0)
                continue;
            if (only_account && !same_str(items[ni].acct.account, only_account)) {
                item_free(&items[ni]);
                continue;
            }
            ni++;
        }
        for (i = 0; i < ni; i++) {
            size_t j, ng = 0;
            if (items[i].done || items[i].fd < 0)
                continue;
            for (j = i; j < ni; j++)
                if (items[j].fd >= 0 && !items[j].done && same_acct(&items[i].acct, &items[j].acct))
                    grp[ng++] = &items[j];
            flush_group(&r, grp, ng);
            for (j = 0; j < ng; j++) {
                grp[j]->done = 1;
                if (grp[j]->fd >= 0) {
                    close(grp[j]->fd);
                    grp[j]->fd = -1;
                }
            }
        }
        for (i = 0; i < ni; i++)
            item_free(&items[i]);
        free(items);
        free(grp);
    }
    free_ids(ids, n);
    tidy(&r);
    {
        char sum[512];
        size_t o = 0;
        o += (size_t)snprintf(sum + o, sizeof sum - o, "%zu sent", r.nsent);
        if (r.ndeferred)
            o += (size_t)snprintf(sum + o, sizeof sum - o, ", %zu deferred", r.ndeferred);
        if (r.nfailed)
            o += (size_t)snprintf(sum + o, sizeof sum - o, ", %zu moved aside", r.nfailed);
        if (r.nunknown)
            o += (size_t)snprintf(sum + o, sizeof sum - o, ", %zu whose delivery is unknown",
                                  r.nunknown);
        if (r.nwaiting)
            o += (size_t)snprintf(sum + o, sizeof sum - o, ", %zu waiting for their next try",
                                  r.nwaiting);
        if (r.nbusy)
            (void)snprintf(sum + o, sizeof sum - o, ", %zu being sent by another flush",
                           r.nbusy);
        if (r.rc)
            tool_err("outbox %s: %s (each one on standard output and in %s/log)", dir, sum,
                     dir);
        else
            tool_info("outbox %s: %s", dir, sum);
    }
    free(r.qdir);
    free(r.fdir);
    return r.rc;
}
