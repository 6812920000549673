/* tools/target_mbox.c - delivery into an mbox: mboxrd quoting, fcntl lock
 * plus a dot-lock, one fsynced append per message; a pending entry records
 * the length before the append and the append's hash, so the next run
 * resolves it by reading the mbox. See target.h and docs/tools.md. */
#include "target.h"
#include "common.h"
#include "headers.h"
#include "testhook.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int mbox_open(tool_dest *d, char *err, size_t errcap, int *exit_code)
{
    int fd = open(d->path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errcap, "%s: cannot open mbox: %s", d->path, strerror(e));
        *exit_code = tool_exit_for_errno(e);
        return -1;
    }
    close(fd);
    return 0;
}

static int mbox_out(tool_msg *m, const char *p, size_t n)
{
    return tool_msg_buffer_add(m, p, n);
}

static int mbox_finish(tool_msg *m, char *err, size_t errcap)
{
    (void)err;
    (void)errcap;
    snprintf(m->info, sizeof m->info, "mbox"); /* the commit records where */
    return 0;
}

char *tool_mboxrd_quote(const char *in, size_t n, size_t *outlen)
{
    size_t i, extra = 1, o = 0;
    char *out;
    int bol = 1;
    /* count the '>' to add */
    for (i = 0; i < n; i++) {
        if (bol) {
            size_t j = i;
            while (j < n && in[j] == '>')
                j++;
            if (n - j >= 5 && memcmp(in + j, "From ", 5) == 0)
                extra++;
        }
        bol = in[i] == '\n';
    }
    out = malloc(n + extra + 1);
    if (!out)
        return NULL;
    bol = 1;
    for (i = 0; i < n; i++) {
        if (bol) {
            size_t j = i;
            while (j < n && in[j] == '>')
                j++;
            if (n - j >= 5 && memcmp(in + j, "From ", 5) == 0)
                out[o++] = '>';
        }
        out[o++] = in[i];
        bol = in[i] == '\n';
    }
    if (o == 0 || out[o - 1] != '\n')
        out[o++] = '\n';
    out[o] = '\0';
    *outlen = o;
    return out;
}

/* mbox locking: an fcntl write lock on the file plus a dot-lock (PATH.lock,
 * created with O_EXCL), which is what MUAs and MDAs on NFS-less Linux honour.
 * The dot-lock holds "PID HOST". One whose process is gone (same host, no
 * such PID: e.g. a postie-fetch killed between its append and its unlock)
 * is removed at once; any other older than 5 minutes is taken to be stale
 * and removed. A live holder is waited for up to 60 seconds. */
static int dotlock_is_dead(const char *dotlock, const char *host)
{
    char buf[300], h[256];
    long pid;
    ssize_t n;
    int fd = open(dotlock, O_RDONLY | O_NOFOLLOW);
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    if (sscanf(buf, "%ld %255s", &pid, h) != 2 || pid <= 0 || strcmp(h, host) != 0)
        return 0;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static int mbox_lock(const char *path, const char *host, int fd, char **dotlock)
{
    struct flock fl;
    size_t n = strlen(path) + 6;
    int tries;
    *dotlock = malloc(n);
    if (!*dotlock)
        return -1;
    snprintf(*dotlock, n, "%s.lock", path);
    for (tries = 0; ; tries++) {
        int lfd = open(*dotlock, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (lfd >= 0) {
            char id[300];
            int len = snprintf(id, sizeof id, "%ld %s\n", (long)getpid(), host);
            if (tool_write_all(lfd, id, (size_t)len) != 0) {
                /* an empty lock still locks; only the stale check is weaker */
            }
            close(lfd);
            break;
        }
        if (errno == EACCES || errno == EROFS) {
            /* cannot create lock files here (e.g. /var/mail not writable):
             * rely on the fcntl lock alone */
            free(*dotlock);
            *dotlock = NULL;
            break;
        }
        if (errno != EEXIST || tries > 600) {
            free(*dotlock);
            *dotlock = NULL;
            return -1;
        }
        {
            struct stat sb;
            if (dotlock_is_dead(*dotlock, host) ||
                (stat(*dotlock, &sb) == 0 && time(NULL) - sb.st_mtime > 300)) {
                unlink(*dotlock);
                continue;
            }
        }
        usleep(100000);
    }
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    while (fcntl(fd, F_SETLKW, &fl) != 0) {
        if (errno != EINTR) {
            if (*dotlock)
                unlink(*dotlock);
            free(*dotlock);
            *dotlock = NULL;
            return -1;
        }
    }
    return 0;
}

/* FNV-1a (64 bits) of bytes, continuing from h (start: TOOL_FNV_INIT). It
 * identifies an mbox append in its pending entry: not a defence against a
 * forger (the mbox is the user's own file), only against mistaking other
 * bytes for ours. */
#define TOOL_FNV_INIT 1469598103934665603ull
static unsigned long long fnv1a(unsigned long long h, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n--)
        h = (h ^ *b++) * 1099511628211ull;
    return h;
}

static void mbox_unlock(int fd, char *dotlock)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_UNLCK;
    fl.l_whence = SEEK_SET;
    fcntl(fd, F_SETLK, &fl);
    if (dotlock) {
        unlink(dotlock);
        free(dotlock);
    }
}

/* "From SENDER DATE\n": SENDER from Return-Path when it is a plain
 * address, else MAILER-DAEMON. */
static void from_line(const tool_msg *m, char *from, size_t cap)
{
    char date[64];
    struct tm tmv;
    time_t now = time(NULL);
    char *rp = tool_headers_first_addr(m->buf ? m->buf : "", m->len, "Return-Path");
    const char *sender = "MAILER-DAEMON";
    gmtime_r(&now, &tmv);
    strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tmv);
    if (rp && rp[0] && strlen(rp) < 80 && !strpbrk(rp, " \t\r\n"))
        sender = rp;
    snprintf(from, cap, "From %s %s\n", sender, date);
    free(rp);
}

/* An mbox that does not end with an empty line gets one first, so our From
 * line starts a message; *off moves past it. 0 or -1 (errno set). */
static int pad_to_blank_line(int fd, off_t *off)
{
    char tail[2] = { '\n', '\n' };
    size_t pre = 0;
    if (*off >= 2 && pread(fd, tail, 2, *off - 2) == 2)
        pre = tail[1] != '\n' ? 2 : (tail[0] != '\n' ? 1 : 0);
    else if (*off == 1)
        pre = 2;
    if (pre && (lseek(fd, *off, SEEK_SET) < 0 || tool_write_all(fd, "\n\n", pre) != 0))
        return -1;
    *off += (off_t)pre;
    return 0;
}

static int mbox_commit(tool_msg *m, const char *uid, tool_state *st, int nosync, char *err,
                       size_t errcap, int *exit_code)
{
    int fd = open(m->d->path, O_RDWR | O_CREAT, 0600);
    char *dotlock = NULL, *q = NULL, from[128];
    size_t qlen;
    struct stat sb;
    int rc = -1, e;
    off_t off, keep;
    unsigned long long h;

    (void)nosync; /* every append is fsynced under its lock */
    if (fd < 0) {
        e = errno;
        snprintf(err, errcap, "%s: %s", m->d->path, strerror(e));
        *exit_code = tool_exit_for_errno(e);
        return -1;
    }
    if (mbox_lock(m->d->path, m->d->host, fd, &dotlock) != 0) {
        snprintf(err, errcap, "%s: cannot lock: %s", m->d->path, strerror(errno));
        *exit_code = TOOL_EX_TEMPFAIL;
        close(fd);
        return -1;
    }
    q = tool_mboxrd_quote(m->buf ? m->buf : "", m->len, &qlen);
    if (!q || fstat(fd, &sb) != 0) {
        snprintf(err, errcap, "%s: %s", m->d->path, q ? strerror(errno) : "out of memory");
        *exit_code = TOOL_EX_OSERR;
        goto out;
    }
    keep = off = sb.st_size; /* what a failed write is cut back to */
    from_line(m, from, sizeof from);
    if (pad_to_blank_line(fd, &off) != 0)
        goto werr;
    keep = off; /* the pending entry names this length: a cut keeps it */
    h = fnv1a(TOOL_FNV_INIT, from, strlen(from));
    h = fnv1a(fnv1a(h, q, qlen), "\n", 1);
    snprintf(m->info, sizeof m->info, "mbox %lld %llu %016llx", (long long)off,
             (unsigned long long)(strlen(from) + qlen + 1), h);
    if (st && (tool_state_set(st, uid, 'P', m->info) != 0 ||
               tool_state_save(st, err, errcap) != 0)) {
        *exit_code = tool_exit_for_errno(errno);
        goto out;
    }
    if (lseek(fd, off, SEEK_SET) < 0 || tool_write_all(fd, from, strlen(from)) != 0 ||
        tool_write_all(fd, q, qlen) != 0 || tool_write_all(fd, "\n", 1) != 0 || fsync(fd) != 0)
        goto werr;
    tool_test_kill_point("mbox-appended"); /* durable, still locked */
    rc = 0;
    goto out;
werr:
    e = errno;
    snprintf(err, errcap, "%s: write failed: %s", m->d->path, strerror(e));
    *exit_code = tool_exit_for_errno(e);
    if (ftruncate(fd, keep) == 0)
        fsync(fd);
out:
    free(q);
    mbox_unlock(fd, dotlock);
    close(fd);
    return rc;
}

/* Hash of the bytes [off, off+len) of the file, or -1 on a read error. */
static int file_fnv(int fd, off_t off, unsigned long long len, unsigned long long *h)
{
    char buf[65536];
    *h = TOOL_FNV_INIT;
    while (len > 0) {
        size_t want = len < sizeof buf ? (size_t)len : sizeof buf;
        ssize_t got = pread(fd, buf, want, off);
        if (got <= 0)
            return -1;
        *h = fnv1a(*h, buf, (size_t)got);
        off += got;
        len -= (unsigned long long)got;
    }
    return 0;
}

/* A pending mbox entry "OFF LEN HASH": the append was to start at OFF (the
 * file's length then, under the lock) and write LEN bytes hashing to HASH.
 * Under the lock again, the file tells what happened:
 *   length == OFF                    nothing was written: not delivered;
 *   OFF < length < OFF+LEN, and the bytes at OFF start our From line:
 *                                    a partial append: cut off, not delivered;
 *   length >= OFF+LEN and the LEN bytes at OFF hash to HASH: delivered;
 *   anything else (the mbox was rewritten or shrunk since): cannot tell.
 * Entries of older versions ("OFF LEN") are checked by their From line and
 * final blank line instead. */
static int mbox_resolve(tool_dest *d, const char *args)
{
    long long off;
    unsigned long long len, want_h = 0, h;
    int fd, r = TOOL_RESOLVE_UNKNOWN, have_h, nf;
    struct stat sb;
    char *dotlock = NULL;
    nf = sscanf(args, "%lld %llu %llx", &off, &len, &want_h);
    if (nf < 2 || off < 0 || len < 7)
        return TOOL_RESOLVE_UNKNOWN;
    have_h = nf == 3;
    fd = open(d->path, O_RDWR);
    if (fd < 0)
        return errno == ENOENT && off == 0 ? TOOL_RESOLVE_NO : TOOL_RESOLVE_UNKNOWN;
    if (mbox_lock(d->path, d->host, fd, &dotlock) != 0) {
        close(fd);
        return TOOL_RESOLVE_BUSY;
    }
    if (fstat(fd, &sb) == 0) {
        unsigned long long size = (unsigned long long)sb.st_size;
        char head[5];
        if (size == (unsigned long long)off) {
            r = TOOL_RESOLVE_NO;
        } else if (size > (unsigned long long)off && size < (unsigned long long)off + len) {
            ssize_t got = pread(fd, head, 5, off);
            if (got > 0 && memcmp(head, "From ", (size_t)got) == 0) {
                /* our partial append: cut it off */
                if (ftruncate(fd, off) == 0 && fsync(fd) == 0)
                    r = TOOL_RESOLVE_NO;
            }
        } else if (size >= (unsigned long long)off + len) {
            if (have_h) {
                if (file_fnv(fd, off, len, &h) == 0 && h == want_h)
                    r = TOOL_RESOLVE_YES;
            } else {
                char tail[2];
                if (pread(fd, head, 5, off) == 5 && memcmp(head, "From ", 5) == 0 &&
                    pread(fd, tail, 2, off + (off_t)len - 2) == 2 && tail[0] == '\n' &&
                    tail[1] == '\n')
                    r = TOOL_RESOLVE_YES;
            }
        }
    }
    mbox_unlock(fd, dotlock);
    close(fd);
    return r;
}

const tool_target tool_target_mbox = {
    "mbox", "FILE", "an mbox (mboxrd quoting, locked)", 1, 0,
    mbox_open, NULL, mbox_out, mbox_finish, NULL, NULL, mbox_commit,
    NULL, NULL, mbox_resolve
};
