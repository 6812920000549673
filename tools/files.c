/* tools/files.c - file helpers: ~ expansion, mkdir -p, directory fsync,
 * byte counts for people. See files.h. */
#include "files.h"
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

char *tool_expand_home(const char *path)
{
    const char *home;
    char *r;
    if (path[0] != '~' || (path[1] != '/' && path[1] != '\0'))
        return tool_strdup(path);
    home = getenv("HOME");
    if (!home)
        home = "";
    r = malloc(strlen(home) + strlen(path) + 1);
    if (r) {
        strcpy(r, home);
        strcat(r, path + 1);
    }
    return r;
}

int tool_mkdirs(const char *path, unsigned mode)
{
    char *p = tool_strdup(path), *s;
    int rc = 0;
    if (!p)
        return -1;
    for (s = p + 1; ; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST) {
                rc = -1;
                break;
            }
            *s = c;
            if (c == '\0')
                break;
        }
    }
    if (rc == 0) {
        struct stat sb;
        if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            if (errno == 0)
                errno = ENOTDIR;
            rc = -1;
        }
    }
    {
        int e = errno;
        free(p);
        errno = e;
    }
    return rc;
}

int tool_write_all(int fd, const void *buf, size_t n)
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

int tool_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    int rc;
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    if (rc != 0 && (errno == EINVAL || errno == EROFS))
        rc = 0; /* file systems that cannot sync a directory */
    {
        int e = errno;
        close(fd);
        errno = e;
    }
    return rc;
}

void tool_fmt_bytes(double b, char *out, size_t cap)
{
    static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int u = 0;
    while (b >= 1024.0 && u < 4) {
        b /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(out, cap, "%.0f %s", b, unit[u]);
    else
        snprintf(out, cap, "%.1f %s", b, unit[u]);
}
