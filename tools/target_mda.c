/* tools/target_mda.c - delivery to a command (an MDA) that reads the
 * message on its standard input; exit status 0 is delivered. A pending
 * "mda" entry cannot be resolved: the MDA cannot be asked afterwards.
 * See target.h and docs/tools.md. */
#include "target.h"
#include "common.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int mda_out(tool_msg *m, const char *p, size_t n)
{
    return tool_msg_buffer_add(m, p, n);
}

static int mda_finish(tool_msg *m, char *err, size_t errcap)
{
    (void)err;
    (void)errcap;
    snprintf(m->info, sizeof m->info, "mda");
    return 0;
}

static int mda_commit(tool_msg *m, const char *uid, tool_state *st, int nosync, char *err,
                      size_t errcap, int *exit_code)
{
    int pfd[2], status;
    pid_t pid;
    void (*old)(int);
    (void)st;
    (void)nosync;
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
    if (m->len && tool_write_all(pfd[1], m->buf, m->len) != 0 && errno != EPIPE) {
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

static int mda_resolve(tool_dest *d, const char *args)
{
    (void)d;
    (void)args;
    return TOOL_RESOLVE_AGAIN;
}

const tool_target tool_target_mda = {
    "mda", "COMMAND", "a command that gets each message on standard input", 0, 0,
    NULL, NULL, mda_out, mda_finish, NULL, NULL, mda_commit,
    NULL, NULL, mda_resolve
};
