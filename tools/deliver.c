/* tools/deliver.c - Maildir, mbox and MDA delivery; the UIDL state file.
 * See deliver.h and docs/tools.md ("Delivery and durability"). */
#include "deliver.h"
#include "common.h"
#include "headers.h"
#include "testhook.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int exit_for_errno(int e)
{
    if (e == ENOSPC || e == EDQUOT || e == EIO || e == EFBIG)
        return TOOL_EX_IOERR;
    return TOOL_EX_CANTCREAT;
}

static char *path_join(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + (c ? strlen(c) : 0) + 3;
    char *r = malloc(n);
    if (r)
        snprintf(r, n, "%s/%s%s%s", a, b, c ? "/" : "", c ? c : "");
    return r;
}

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ---- destinations ------------------------------------------------------ */

/* Files in tmp/ that a killed delivery left behind are not mail (no one
 * renamed them into new/). As the Maildir convention says, those not touched
 * for 36 hours are removed; younger ones may belong to a delivery running
 * right now. */
static void maildir_clean_tmp(const char *root)
{
    char *tmp = path_join(root, "tmp", NULL);
    DIR *dp;
    struct dirent *de;
    time_t now = time(NULL);
    if (!tmp)
        return;
    dp = opendir(tmp);
    while (dp && (de = readdir(dp)) != NULL) {
        struct stat sb;
        char *p;
        if (de->d_name[0] == '.')
            continue;
        p = path_join(tmp, de->d_name, NULL);
        if (p && lstat(p, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_atime < now - 36 * 3600 &&
            sb.st_mtime < now - 36 * 3600)
            unlink(p);
        free(p);
    }
    if (dp)
        closedir(dp);
    free(tmp);
}

int tool_dest_open(tool_dest *d, tool_dest_kind kind, const char *path, char *err,
                   size_t errcap, int *exit_code)
{
    char h[128];
    size_t i, o = 0;
    memset(d, 0, sizeof *d);
    d->kind = kind;
    d->path = kind == TOOL_DEST_MDA ? tool_strdup(path) : tool_expand_home(path);
    if (!d->path) {
        snprintf(err, errcap, "out of memory");
        *exit_code = TOOL_EX_OSERR;
        return -1;
    }
    if (gethostname(h, sizeof h) != 0)
        strcpy(h, "localhost");
    h[sizeof h - 1] = '\0';
    /* Maildir names: '/' and ':' in the host are written as \057 and \072 */
    for (i = 0; h[i] && o + 5 < sizeof d->host; i++) {
        if (h[i] == '/' || h[i] == ':') {
            o += (size_t)snprintf(d->host + o, sizeof d->host - o, "\\%03o", (unsigned)h[i]);
        } else {
            d->host[o++] = h[i];
        }
    }
    d->host[o] = '\0';

    if (kind == TOOL_DEST_MAILDIR) {
        static const char *const sub[] = { "tmp", "new", "cur" };
        for (i = 0; i < 3; i++) {
            char *p = path_join(d->path, sub[i], NULL);
            if (!p || tool_mkdirs(p, 0700) != 0) {
                int e = errno;
                snprintf(err, errcap, "%s: cannot create Maildir: %s", p ? p : d->path,
                         strerror(e));
                *exit_code = exit_for_errno(e);
                free(p);
                tool_dest_close(d);
                return -1;
            }
            free(p);
        }
        maildir_clean_tmp(d->path);
    } else if (kind == TOOL_DEST_MBOX) {
        int fd = open(d->path, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd < 0) {
            int e = errno;
            snprintf(err, errcap, "%s: cannot open mbox: %s", d->path, strerror(e));
            *exit_code = exit_for_errno(e);
            tool_dest_close(d);
            return -1;
        }
        close(fd);
    }
    return 0;
}

void tool_dest_close(tool_dest *d)
{
    free(d->path);
    d->path = NULL;
}

int tool_dest_sync(tool_dest *d)
{
    char *p;
    int rc;
    if (d->kind != TOOL_DEST_MAILDIR)
        return 0;
    p = path_join(d->path, "new", NULL);
    if (!p)
        return -1;
    rc = tool_fsync_dir(p);
    free(p);
    return rc;
}

/* ---- messages ---------------------------------------------------------- */

int tool_msg_begin(tool_dest *d, tool_msg *m, char *err, size_t errcap)
{
    memset(m, 0, sizeof *m);
    m->d = d;
    m->fd = -1;
    if (d->kind == TOOL_DEST_MAILDIR) {
        int tries;
        for (tries = 0; tries < 20; tries++) {
            struct timeval tv;
            char *p;
            gettimeofday(&tv, NULL);
            snprintf(m->name, sizeof m->name, "%lld.M%ldP%ldQ%lu.%s", (long long)tv.tv_sec,
                     (long)tv.tv_usec, (long)getpid(), ++d->counter, d->host);
            p = path_join(d->path, "tmp", m->name);
            if (!p) {
                snprintf(err, errcap, "out of memory");
                return -1;
            }
            m->fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
            free(p);
            if (m->fd >= 0)
                return 0;
            if (errno != EEXIST)
                break;
        }
        snprintf(err, errcap, "%s/tmp: cannot create a file: %s", d->path, strerror(errno));
        return -1;
    }
    return 0;
}

static int buf_add(tool_msg *m, const char *p, size_t n)
{
    if (m->len + n > m->cap) {
        size_t nc = m->cap ? m->cap : 65536;
        char *nb;
        while (nc < m->len + n)
            nc *= 2;
        nb = realloc(m->buf, nc);
        if (!nb)
            return -1;
        m->buf = nb;
        m->cap = nc;
    }
    memcpy(m->buf + m->len, p, n);
    m->len += n;
    return 0;
}

static int out_bytes(tool_msg *m, const char *p, size_t n)
{
    m->bytes += n;
    if (m->d->kind == TOOL_DEST_MAILDIR)
        return write_all(m->fd, p, n);
    return buf_add(m, p, n);
}

int tool_msg_write(tool_msg *m, const void *buf, size_t n, char *err, size_t errcap)
{
    const char *p = buf, *end = p + n;
    char out[8192];
    size_t o = 0;
    for (; p < end; p++) {
        if (m->cr) {
            m->cr = 0;
            if (*p != '\n')
                out[o++] = '\r'; /* a lone CR stays */
        }
        if (*p == '\r') {
            m->cr = 1;
        } else {
            out[o++] = *p;
        }
        if (o >= sizeof out - 2) {
            if (out_bytes(m, out, o) != 0)
                goto fail;
            o = 0;
        }
    }
    if (o && out_bytes(m, out, o) != 0)
        goto fail;
    return 0;
fail:
    snprintf(err, errcap, "%s: write failed: %s", m->d->path, strerror(errno));
    return -1;
}

int tool_msg_finish(tool_msg *m, char *err, size_t errcap)
{
    if (m->cr) {
        m->cr = 0;
        if (out_bytes(m, "\r", 1) != 0)
            goto fail;
    }
    switch (m->d->kind) {
    case TOOL_DEST_MAILDIR:
        if (fsync(m->fd) != 0)
            goto fail;
        if (close(m->fd) != 0) {
            m->fd = -1;
            goto fail;
        }
        m->fd = -1;
        snprintf(m->info, sizeof m->info, "maildir %s", m->name);
        break;
    case TOOL_DEST_MBOX:
        snprintf(m->info, sizeof m->info, "mbox");
        break;
    case TOOL_DEST_MDA:
        snprintf(m->info, sizeof m->info, "mda");
        break;
    }
    return 0;
fail:
    snprintf(err, errcap, "%s: write failed: %s", m->d->path, strerror(errno));
    return -1;
}

void tool_msg_abort(tool_msg *m)
{
    if (m->d && m->d->kind == TOOL_DEST_MAILDIR && m->name[0]) {
        char *p = path_join(m->d->path, "tmp", m->name);
        if (m->fd >= 0)
            close(m->fd);
        if (p)
            unlink(p);
        free(p);
    }
    m->fd = -1;
    free(m->buf);
    m->buf = NULL;
    m->len = m->cap = 0;
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
            if (write_all(lfd, id, (size_t)len) != 0) {
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

static int commit_mbox(tool_msg *m, const char *uid, tool_state *st, char *err,
                       size_t errcap, int *exit_code)
{
    int fd = open(m->d->path, O_RDWR | O_CREAT, 0600);
    char *dotlock = NULL, *q = NULL, from[128];
    size_t qlen;
    struct stat sb;
    time_t now = time(NULL);
    int rc = -1, e;
    off_t off;

    if (fd < 0) {
        e = errno;
        snprintf(err, errcap, "%s: %s", m->d->path, strerror(e));
        *exit_code = exit_for_errno(e);
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
    off = sb.st_size;
    {
        char date[64];
        struct tm tmv;
        gmtime_r(&now, &tmv);
        strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tmv);
        /* the envelope sender from Return-Path, when it is a plain address */
        char *rp = tool_headers_first_addr(m->buf ? m->buf : "", m->len, "Return-Path");
        const char *sender = "MAILER-DAEMON";
        if (rp && rp[0] && strlen(rp) < 80 && !strpbrk(rp, " \t\r\n"))
            sender = rp;
        snprintf(from, sizeof from, "From %s %s\n", sender, date);
        free(rp);
    }
    /* an mbox that does not end with an empty line gets one first, so our
     * From line starts a message */
    {
        char tail[2] = { '\n', '\n' };
        size_t pre = 0;
        if (off >= 2 && pread(fd, tail, 2, off - 2) == 2) {
            pre = tail[1] != '\n' ? 2 : (tail[0] != '\n' ? 1 : 0);
        } else if (off == 1) {
            pre = 2;
        }
        if (pre && write_all(fd, "\n\n", pre) != 0)
            goto werr;
        off += (off_t)pre;
    }
    {
        unsigned long long h = fnv1a(TOOL_FNV_INIT, from, strlen(from));
        h = fnv1a(fnv1a(h, q, qlen), "\n", 1);
        snprintf(m->info, sizeof m->info, "mbox %lld %llu %016llx", (long long)off,
                 (unsigned long long)(strlen(from) + qlen + 1), h);
    }
    if (st) {
        if (tool_state_set(st, uid, 'P', m->info) != 0 || tool_state_save(st, err, errcap) != 0) {
            *exit_code = exit_for_errno(errno);
            goto out;
        }
    }
    if (lseek(fd, off, SEEK_SET) < 0 || write_all(fd, from, strlen(from)) != 0 ||
        write_all(fd, q, qlen) != 0 || write_all(fd, "\n", 1) != 0 || fsync(fd) != 0)
        goto werr;
    tool_test_kill_point("mbox-appended"); /* durable, still locked */
    rc = 0;
    goto out;
werr:
    e = errno;
    snprintf(err, errcap, "%s: write failed: %s", m->d->path, strerror(e));
    *exit_code = exit_for_errno(e);
    if (ftruncate(fd, sb.st_size) == 0)
        fsync(fd);
out:
    free(q);
    mbox_unlock(fd, dotlock);
    close(fd);
    return rc;
}

static int commit_mda(tool_msg *m, const char *uid, char *err, size_t errcap, int *exit_code)
{
    int pfd[2], status;
    pid_t pid;
    void (*old)(int);
    if (pipe(pfd) != 0) {
        snprintf(err, errcap, "mda: pipe: %s", strerror(errno));
        *exit_code = TOOL_EX_OSERR;
        return -1;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        snprintf(err, errcap, "mda: fork: %s", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        *exit_code = TOOL_EX_OSERR;
        return -1;
    }
    if (pid == 0) {
        close(pfd[1]);
        if (dup2(pfd[0], 0) < 0)
            _exit(127);
        close(pfd[0]);
        setenv("POSTIE_UIDL", uid, 1);
        execl("/bin/sh", "sh", "-c", m->d->path, (char *)NULL);
        _exit(127);
    }
    close(pfd[0]);
    old = signal(SIGPIPE, SIG_IGN);
    if (m->len && write_all(pfd[1], m->buf, m->len) != 0 && errno != EPIPE) {
        /* the exit status decides below */
    }
    close(pfd[1]);
    signal(SIGPIPE, old);
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            snprintf(err, errcap, "mda: waitpid: %s", strerror(errno));
            *exit_code = TOOL_EX_OSERR;
            return -1;
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (WIFEXITED(status))
            snprintf(err, errcap, "mda '%s' failed with exit status %d", m->d->path,
                     WEXITSTATUS(status));
        else
            snprintf(err, errcap, "mda '%s' was killed by signal %d", m->d->path,
                     WTERMSIG(status));
        /* an MDA saying "temporary failure" keeps the message on the server */
        *exit_code = (WIFEXITED(status) && WEXITSTATUS(status) == TOOL_EX_TEMPFAIL)
                         ? TOOL_EX_TEMPFAIL
                         : TOOL_EX_UNAVAILABLE;
        return -1;
    }
    return 0;
}

int tool_msg_commit(tool_msg *m, const char *uid, struct tool_state *st, int nosync,
                    char *err, size_t errcap, int *exit_code)
{
    int rc = -1;
    *exit_code = TOOL_EX_OK;
    if (m->d->kind == TOOL_DEST_MAILDIR) {
        char *from = path_join(m->d->path, "tmp", m->name);
        char *to = path_join(m->d->path, "new", m->name);
        if (!from || !to) {
            snprintf(err, errcap, "out of memory");
            *exit_code = TOOL_EX_OSERR;
        } else if (rename(from, to) != 0 || (!nosync && tool_dest_sync(m->d) != 0)) {
            int e = errno;
            snprintf(err, errcap, "%s: cannot move into new/: %s", to, strerror(e));
            *exit_code = exit_for_errno(e);
        } else {
            rc = 0;
        }
        free(from);
        free(to);
    } else if (m->d->kind == TOOL_DEST_MBOX) {
        rc = commit_mbox(m, uid, st, err, errcap, exit_code);
    } else {
        rc = commit_mda(m, uid, err, errcap, exit_code);
    }
    free(m->buf);
    m->buf = NULL;
    m->len = m->cap = 0;
    return rc;
}

static int dir_has(const char *dir, const char *name)
{
    DIR *dp = opendir(dir);
    struct dirent *de;
    size_t n = strlen(name);
    int found = 0;
    if (!dp)
        return 0;
    while (!found && (de = readdir(dp)) != NULL)
        if (strncmp(de->d_name, name, n) == 0 && (de->d_name[n] == '\0' || de->d_name[n] == ':'))
            found = 1;
    closedir(dp);
    return found;
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

int tool_dest_resolve(tool_dest *d, const char *info)
{
    if (strncmp(info, "maildir ", 8) == 0 && d->kind == TOOL_DEST_MAILDIR) {
        const char *name = info + 8;
        char *nw = path_join(d->path, "new", NULL), *cur = path_join(d->path, "cur", NULL);
        char *tmp = path_join(d->path, "tmp", name);
        int found = 0;
        if (nw && cur && tmp) {
            found = dir_has(nw, name) || dir_has(cur, name);
            if (!found)
                unlink(tmp);
        }
        free(nw);
        free(cur);
        free(tmp);
        return found ? TOOL_RESOLVE_YES : TOOL_RESOLVE_NO;
    }
    if (strncmp(info, "mbox ", 5) == 0 && d->kind == TOOL_DEST_MBOX)
        return mbox_resolve(d, info + 5);
    if (strcmp(info, "mda") == 0)
        return TOOL_RESOLVE_UNKNOWN;
    return TOOL_RESOLVE_NO;
}

/* ---- state file -------------------------------------------------------- */

char *tool_state_default_path(const char *user, const char *host, const char *port)
{
    const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char base[4096], name[600];
    size_t i;
    char *r;
    if (x && x[0] == '/')
        snprintf(base, sizeof base, "%s/postie/uidl", x);
    else
        snprintf(base, sizeof base, "%s/.local/state/postie/uidl", home ? home : ".");
    snprintf(name, sizeof name, "%s@%s:%s", user ? user : "", host ? host : "", port ? port : "");
    for (i = 0; name[i]; i++)
        if (name[i] == '/')
            name[i] = '_';
    r = malloc(strlen(base) + strlen(name) + 2);
    if (r)
        sprintf(r, "%s/%s", base, name);
    return r;
}

static int valid_uid(const char *u)
{
    if (!*u || strlen(u) > 512)
        return 0;
    for (; *u; u++)
        if ((unsigned char)*u <= 0x20 || (unsigned char)*u >= 0x7f)
            return 0;
    return 1;
}

int tool_state_open(tool_state *s, const char *path, char *err, size_t errcap, int *exit_code)
{
    char *lockpath, *dir, *slash, line[2048];
    FILE *f;
    int lineno = 0;
    struct flock fl;

    memset(s, 0, sizeof *s);
    s->lockfd = -1;
    s->path = tool_expand_home(path);
    if (!s->path)
        goto oom;
    dir = tool_strdup(s->path);
    if (!dir)
        goto oom;
    slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (tool_mkdirs(dir, 0700) != 0) {
            snprintf(err, errcap, "%s: cannot create: %s", dir, strerror(errno));
            free(dir);
            *exit_code = TOOL_EX_CANTCREAT;
            goto fail;
        }
    }
    free(dir);
    lockpath = malloc(strlen(s->path) + 6);
    if (!lockpath)
        goto oom;
    sprintf(lockpath, "%s.lock", s->path);
    s->lockfd = open(lockpath, O_RDWR | O_CREAT, 0600);
    if (s->lockfd < 0) {
        snprintf(err, errcap, "%s: %s", lockpath, strerror(errno));
        free(lockpath);
        *exit_code = TOOL_EX_CANTCREAT;
        goto fail;
    }
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(s->lockfd, F_SETLK, &fl) != 0) {
        snprintf(err, errcap, "%s: another postie-fetch is using this account", lockpath);
        free(lockpath);
        *exit_code = TOOL_EX_TEMPFAIL;
        goto fail;
    }
    free(lockpath);

    f = fopen(s->path, "r");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errcap, "%s: %s", s->path, strerror(errno));
        *exit_code = TOOL_EX_CANTCREAT;
        goto fail;
    }
    while (fgets(line, sizeof line, f)) {
        char *uid, *info = NULL, kind;
        size_t n = strlen(line);
        lineno++;
        if (n == 0 || line[n - 1] != '\n') {
            snprintf(err, errcap, "%s:%d: line too long or not terminated", s->path, lineno);
            fclose(f);
            *exit_code = TOOL_EX_DATAERR;
            goto fail;
        }
        line[n - 1] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        kind = line[0];
        if ((kind != 'D' && kind != 'P') || line[1] != ' ') {
            snprintf(err, errcap, "%s:%d: malformed entry", s->path, lineno);
            fclose(f);
            *exit_code = TOOL_EX_DATAERR;
            goto fail;
        }
        uid = line + 2;
        {
            char *sp = strchr(uid, ' ');
            if (sp) {
                *sp = '\0';
                info = sp + 1;
            }
        }
        if (!valid_uid(uid) || (kind == 'P' && !info) || (kind == 'D' && info)) {
            snprintf(err, errcap, "%s:%d: malformed entry", s->path, lineno);
            fclose(f);
            *exit_code = TOOL_EX_DATAERR;
            goto fail;
        }
        if (tool_state_set(s, uid, kind, info) != 0) {
            fclose(f);
            goto oom;
        }
    }
    fclose(f);
    return 0;
oom:
    snprintf(err, errcap, "out of memory");
    *exit_code = TOOL_EX_OSERR;
fail:
    tool_state_close(s);
    return -1;
}

int tool_state_save(tool_state *s, char *err, size_t errcap)
{
    char *tmp = malloc(strlen(s->path) + 5), *dir, *slash;
    FILE *f;
    size_t i;
    int e;
    if (!tmp) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    sprintf(tmp, "%s.tmp", s->path);
    f = fopen(tmp, "w");
    if (!f)
        goto fail;
    fprintf(f, "# postie-fetch UIDL state 1: D uid (delivered), P uid where (pending)\n");
    for (i = 0; i < s->n; i++) {
        if (s->e[i].kind == 'P')
            fprintf(f, "P %s %s\n", s->e[i].uid, s->e[i].info);
        else
            fprintf(f, "D %s\n", s->e[i].uid);
    }
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        e = errno;
        fclose(f);
        unlink(tmp);
        errno = e;
        goto fail;
    }
    if (fclose(f) != 0) {
        e = errno;
        unlink(tmp);
        errno = e;
        goto fail;
    }
    if (rename(tmp, s->path) != 0) {
        e = errno;
        unlink(tmp);
        errno = e;
        goto fail;
    }
    dir = tool_strdup(s->path);
    if (dir) {
        slash = strrchr(dir, '/');
        if (slash && slash != dir)
            *slash = '\0';
        else
            strcpy(dir, slash ? "/" : ".");
        if (tool_fsync_dir(dir) != 0) {
            e = errno;
            free(dir);
            errno = e;
            goto fail;
        }
        free(dir);
    }
    free(tmp);
    return 0;
fail:
    e = errno;
    snprintf(err, errcap, "%s: cannot save the UIDL state: %s", s->path, strerror(e));
    free(tmp);
    errno = e;
    return -1;
}

/* The entries are indexed by a hash table (open addressing, linear probing;
 * a slot holds an entry's index + 1, 0 is empty) so that looking up every
 * UID of a large maildrop stays linear, not quadratic. */
static size_t uid_hash(const char *u)
{
    unsigned long long h = 1469598103934665603ull;
    for (; *u; u++)
        h = (h ^ (unsigned char)*u) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29));
}

static int idx_rebuild(tool_state *s, size_t want)
{
    size_t cap = 64, i, *ni;
    while (cap < want * 2)
        cap *= 2;
    ni = calloc(cap, sizeof *ni);
    if (!ni)
        return -1;
    free(s->idx);
    s->idx = ni;
    s->idxcap = cap;
    for (i = 0; i < s->n; i++) {
        size_t j = uid_hash(s->e[i].uid) & (cap - 1);
        while (s->idx[j])
            j = (j + 1) & (cap - 1);
        s->idx[j] = i + 1;
    }
    return 0;
}

/* Slot of uid, or the empty slot where it would go (idxcap > 0). */
static size_t idx_slot(const tool_state *s, const char *uid)
{
    size_t mask = s->idxcap - 1, j = uid_hash(uid) & mask;
    while (s->idx[j] && strcmp(s->e[s->idx[j] - 1].uid, uid) != 0)
        j = (j + 1) & mask;
    return j;
}

tool_state_entry *tool_state_find(tool_state *s, const char *uid)
{
    size_t j;
    if (!s->idxcap)
        return NULL;
    j = idx_slot(s, uid);
    return s->idx[j] ? &s->e[s->idx[j] - 1] : NULL;
}

int tool_state_set(tool_state *s, const char *uid, char kind, const char *info)
{
    tool_state_entry *e = tool_state_find(s, uid);
    char *ni = NULL;
    if (info && !(ni = tool_strdup(info)))
        return -1;
    if (!e) {
        if (s->n == s->cap) {
            size_t nc = s->cap ? s->cap * 2 : 64;
            tool_state_entry *ne = realloc(s->e, nc * sizeof *ne);
            if (!ne) {
                free(ni);
                return -1;
            }
            s->e = ne;
            s->cap = nc;
        }
        if ((s->n + 1) * 2 > s->idxcap && idx_rebuild(s, s->n + 1) != 0) {
            free(ni);
            return -1;
        }
        e = &s->e[s->n];
        e->uid = tool_strdup(uid);
        if (!e->uid) {
            free(ni);
            return -1;
        }
        e->info = NULL;
        s->idx[idx_slot(s, uid)] = s->n + 1;
        s->n++;
    }
    free(e->info);
    e->kind = kind;
    e->info = ni;
    return 0;
}

/* Empties slot i and moves later entries of its probe run back (deletion
 * without tombstones). */
static void idx_delete_slot(tool_state *s, size_t i)
{
    size_t mask = s->idxcap - 1, j = i;
    for (;;) {
        size_t k;
        j = (j + 1) & mask;
        if (!s->idx[j])
            break;
        k = uid_hash(s->e[s->idx[j] - 1].uid) & mask;
        /* the entry at j stays when its home k lies cyclically in (i, j] */
        if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
            continue;
        s->idx[i] = s->idx[j];
        i = j;
    }
    s->idx[i] = 0;
}

void tool_state_remove(tool_state *s, const char *uid)
{
    size_t slot, k, last;
    if (!s->idxcap)
        return;
    slot = idx_slot(s, uid);
    if (!s->idx[slot])
        return;
    k = s->idx[slot] - 1;
    last = s->n - 1;
    idx_delete_slot(s, slot);
    free(s->e[k].uid);
    free(s->e[k].info);
    if (k != last) {
        /* the last entry moves into the hole */
        s->idx[idx_slot(s, s->e[last].uid)] = k + 1;
        s->e[k] = s->e[last];
    }
    s->n--;
}

void tool_state_close(tool_state *s)
{
    size_t i;
    for (i = 0; i < s->n; i++) {
        free(s->e[i].uid);
        free(s->e[i].info);
    }
    free(s->e);
    free(s->idx);
    free(s->path);
    if (s->lockfd >= 0)
        close(s->lockfd);
    memset(s, 0, sizeof *s);
    s->lockfd = -1;
}
