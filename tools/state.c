/* tools/state.c - the UIDL state file: what was delivered, what is
 * pending; locked, replaced atomically, indexed by a hash table. See
 * state.h and docs/tools.md ("The state file"). */
#include "state.h"
#include "common.h"
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Creates the state file's folder and takes the lock on PATH.lock. 0 or -1
 * with err and *exit_code. */
static int state_lock(tool_state *s, char *err, size_t errcap, int *exit_code)
{
    char *dir = tool_strdup(s->path), *slash, *lockpath;
    struct flock fl;
    int rc = -1;
    if (!dir)
        goto oom;
    slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (tool_mkdirs(dir, 0700) != 0) {
            snprintf(err, errcap, "%s: cannot create: %s", dir, strerror(errno));
            free(dir);
            *exit_code = TOOL_EX_CANTCREAT;
            return -1;
        }
    }
    free(dir);
    lockpath = malloc(strlen(s->path) + 6);
    if (!lockpath)
        goto oom;
    sprintf(lockpath, "%s.lock", s->path);
    s->lockfd = open(lockpath, O_RDWR | O_CREAT, 0600);
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (s->lockfd < 0) {
        snprintf(err, errcap, "%s: %s", lockpath, strerror(errno));
        *exit_code = TOOL_EX_CANTCREAT;
    } else if (fcntl(s->lockfd, F_SETLK, &fl) != 0) {
        snprintf(err, errcap, "%s: another postie-fetch is using this account", lockpath);
        *exit_code = TOOL_EX_TEMPFAIL;
    } else {
        rc = 0;
    }
    free(lockpath);
    return rc;
oom:
    snprintf(err, errcap, "out of memory");
    *exit_code = TOOL_EX_OSERR;
    return -1;
}

/* One line of the file (its LF removed) into s. 0 or -1 with err and
 * *exit_code. */
static int state_line(tool_state *s, int lineno, char *line, char *err, size_t errcap,
                      int *exit_code)
{
    char *uid, *info = NULL, *sp, kind;
    if (line[0] == '#' || line[0] == '\0')
        return 0;
    kind = line[0];
    uid = line + 2;
    if ((kind == 'D' || kind == 'P') && line[1] == ' ') {
        if ((sp = strchr(uid, ' ')) != NULL) {
            *sp = '\0';
            info = sp + 1;
        }
        if (valid_uid(uid) && (kind == 'P') == (info != NULL)) {
            if (tool_state_set(s, uid, kind, info) == 0)
                return 0;
            snprintf(err, errcap, "out of memory");
            *exit_code = TOOL_EX_OSERR;
            return -1;
        }
    }
    snprintf(err, errcap, "%s:%d: malformed entry", s->path, lineno);
    *exit_code = TOOL_EX_DATAERR;
    return -1;
}

int tool_state_open(tool_state *s, const char *path, char *err, size_t errcap, int *exit_code)
{
    char line[2048];
    FILE *f;
    int lineno = 0, rc = 0;

    memset(s, 0, sizeof *s);
    s->lockfd = -1;
    s->path = tool_expand_home(path);
    if (!s->path) {
        snprintf(err, errcap, "out of memory");
        *exit_code = TOOL_EX_OSERR;
        tool_state_close(s);
        return -1;
    }
    if (state_lock(s, err, errcap, exit_code) != 0) {
        tool_state_close(s);
        return -1;
    }
    f = fopen(s->path, "r");
    if (!f) {
        if (errno == ENOENT)
            return 0; /* no state yet */
        snprintf(err, errcap, "%s: %s", s->path, strerror(errno));
        *exit_code = TOOL_EX_CANTCREAT;
        tool_state_close(s);
        return -1;
    }
    while (rc == 0 && fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        lineno++;
        if (n == 0 || line[n - 1] != '\n') {
            snprintf(err, errcap, "%s:%d: line too long or not terminated", s->path, lineno);
            *exit_code = TOOL_EX_DATAERR;
            rc = -1;
            break;
        }
        line[n - 1] = '\0';
        rc = state_line(s, lineno, line, err, errcap, exit_code);
    }
    fclose(f);
    if (rc != 0)
        tool_state_close(s);
    return rc;
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
