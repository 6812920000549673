/*
 * tools/files.h - file helpers.
 */
#ifndef POSTIE_TOOLS_FILES_H
#define POSTIE_TOOLS_FILES_H

#include <stddef.h>

/* Expands a leading "~/" with $HOME. malloc'd. */
char *tool_expand_home(const char *path);
/* mkdir -p with mode; 0 or -1 (errno set). */
int tool_mkdirs(const char *path, unsigned mode);
/* Writes all n bytes of buf (again after EINTR and short writes); 0 or -1 (errno). */
int tool_write_all(int fd, const void *buf, size_t n);
/* fsync of the directory holding path (or of path itself when dir=1). */
int tool_fsync_dir(const char *dir);
/* Formats a byte count as "1.2 MiB". */
void tool_fmt_bytes(double bytes, char *out, size_t cap);

#endif /* POSTIE_TOOLS_FILES_H */
