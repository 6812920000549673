/* tools/target_maildir.c - delivery into a Maildir: the message is
 * written to tmp/NAME, fsynced, and renamed into new/ (new/ fsynced); a
 * pending entry "maildir NAME" is resolved by looking in new/ and cur/.
 * See target.h and docs/tools.md. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sync_file_range (Linux); without it, fsync alone */
#endif
#include "target.h"
#include "common.h"
#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Files in tmp/ that a killed delivery left behind are not mail (no one
 * renamed them into new/). As the Maildir convention says, those not touched
 * for 36 hours are removed; younger ones may belong to a delivery running
 * right now. */
static void maildir_clean_tmp(const char *root)
{
    char *tmp = tool_path_join(root, "tmp", NULL);
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
        p = tool_path_join(tmp, de->d_name, NULL);
        if (p && lstat(p, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_atime < now - 36 * 3600 &&
            sb.st_mtime < now - 36 * 3600)
            unlink(p);
        free(p);
    }
    if (dp)
        closedir(dp);
    free(tmp);
}

static int maildir_open(tool_dest *d, char *err, size_t errcap, int *exit_code)
{
    static const char *const sub[] = { "tmp", "new", "cur" };
    size_t i;
    for (i = 0; i < 3; i++) {
        char *p = tool_path_join(d->path, sub[i], NULL);
        if (!p || tool_mkdirs(p, 0700) != 0) {
            int e = errno;
            snprintf(err, errcap, "%s: cannot create Maildir: %s", p ? p : d->path,
                     strerror(e));
            *exit_code = tool_exit_for_errno(e);
            free(p);
            return -1;
        }
        free(p);
    }
    maildir_clean_tmp(d->path);
    return 0;
}

static int maildir_begin(tool_msg *m, char *err, size_t errcap)
{
    tool_dest *d = m->d;
    int tries;
    for (tries = 0; tries < 20; tries++) {
        struct timeval tv;
        char *p;
        gettimeofday(&tv, NULL);
        snprintf(m->name, sizeof m->name, "%lld.M%ldP%ldQ%lu.%s", (long long)tv.tv_sec,
                 (long)tv.tv_usec, d->pid, ++d->counter, d->host);
        p = tool_path_join(d->path, "tmp", m->name);
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

static int maildir_out(tool_msg *m, const char *p, size_t n)
{
    return tool_write_all(m->fd, p, n);
}

/* The file is complete: its writeback starts now (sync_file_range, where
 * there is one), so the disk works while the next messages arrive; the
 * fsync that makes it durable comes in maildir_durable, for a whole batch
 * in a row (after the first, the journal commit already holds the others).
 * A file is never renamed into new/ before its fsync. */
static int maildir_finish(tool_msg *m, char *err, size_t errcap)
{
    (void)err;
    (void)errcap;
#ifdef SYNC_FILE_RANGE_WRITE
    (void)sync_file_range(m->fd, 0, 0, SYNC_FILE_RANGE_WRITE); /* a hint: fsync follows */
#endif
    snprintf(m->info, sizeof m->info, "maildir %s", m->name);
    return 0;
}

static int maildir_durable(tool_msg *m, char *err, size_t errcap)
{
    if (m->fd < 0)
        return 0;
    if (fsync(m->fd) != 0 || close(m->fd) != 0) {
        int e = errno;
        m->fd = -1;
        snprintf(err, errcap, "%s: write failed: %s", m->d->path, strerror(e));
        return -1;
    }
    m->fd = -1;
    return 0;
}

/* The group flush of a batch: one syncfs(2) of the Maildir's file system
 * makes every file of the batch durable (data and inode: everything dirty
 * on that file system is written and the disk's cache flushed), where an
 * fsync each would flush the disk once per file. Measured on the test
 * machine (docs/performance.md): 1,000 files of 10 kB in batches of 64,
 * one syncfs a batch took about a third of the time of an fsync each, much
 * less when the disk was busy. It writes other programs' dirty data on that
 * file system too, so a batch may wait for it. Linux reports a writeback
 * error of the file system since the file was opened (5.8 and later); then,
 * as where there is no syncfs, the caller fsyncs each file, which names the
 * one that failed. A file is renamed into new/ only after this returned. */
static long maildir_durable_group(tool_msg *const *ms, size_t n)
{
#if defined(__linux__) && defined(SYNC_FILE_RANGE_WRITE)
    size_t i;
    int fd = -1;
    for (i = 0; i < n && fd < 0; i++)
        fd = ms[i]->fd;
    if (fd < 0)
        return (long)n; /* all durable already */
    if (syncfs(fd) != 0)
        return -1;
    for (i = 0; i < n; i++) {
        if (ms[i]->fd >= 0 && close(ms[i]->fd) != 0) {
            int e = errno;
            ms[i]->fd = -1;
            errno = e;
            return (long)i;
        }
        ms[i]->fd = -1;
    }
    return (long)n;
#else
    (void)ms;
    (void)n;
    return -1;
#endif
}

static int maildir_sync(tool_dest *d)
{
    char *p = tool_path_join(d->path, "new", NULL);
    int rc;
    if (!p)
        return -1;
    rc = tool_fsync_dir(p);
    free(p);
    return rc;
}

static int maildir_commit(tool_msg *m, const char *uid, tool_state *st, int nosync, char *err,
                          size_t errcap, int *exit_code)
{
    char *from = tool_path_join(m->d->path, "tmp", m->name);
    char *to = tool_path_join(m->d->path, "new", m->name);
    int rc = -1;
    (void)uid;
    (void)st;
    if (m->fd >= 0 && maildir_durable(m, err, errcap) != 0) {
        *exit_code = TOOL_EX_IOERR;
    } else if (!from || !to) {
        snprintf(err, errcap, "out of memory");
        *exit_code = TOOL_EX_OSERR;
    } else if (rename(from, to) != 0 || (!nosync && maildir_sync(m->d) != 0)) {
        int e = errno;
        snprintf(err, errcap, "%s: cannot move into new/: %s", to, strerror(e));
        *exit_code = tool_exit_for_errno(e);
    } else {
        rc = 0;
    }
    free(from);
    free(to);
    return rc;
}

static void maildir_abort(tool_msg *m)
{
    if (m->name[0]) {
        char *p = tool_path_join(m->d->path, "tmp", m->name);
        if (m->fd >= 0)
            close(m->fd);
        m->fd = -1;
        if (p)
            unlink(p);
        free(p);
    }
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

static int maildir_resolve(tool_dest *d, const char *name)
{
    char *nw = tool_path_join(d->path, "new", NULL), *cur = tool_path_join(d->path, "cur", NULL);
    char *tmp = tool_path_join(d->path, "tmp", name);
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

const tool_target tool_target_maildir = {
    "maildir", "DIR", "a Maildir (created when missing)", 1, 1,
    maildir_open, maildir_begin, maildir_out, maildir_finish, maildir_durable,
    maildir_durable_group, maildir_commit, maildir_sync, maildir_abort, maildir_resolve
};
