/* Secret files: owner-only regular files, read whole, newline stripped. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define SECRET_MAX (64 * 1024)

/*
 * Read `path` into a heap NUL-terminated buffer (*out, length *lenp)
 * without one trailing newline ("\n" or "\r\n"). Refuses symlinks to
 * nowhere, non-regular files and any group/other permission bit. The
 * CALLER owns *out and must explicit_bzero() it before free().
 */
int
cfg_read_secret(const char *path, char **out, size_t *lenp, char **err)
{
	struct stat st;
	char *buf = NULL;
	size_t off = 0;
	ssize_t r;
	int fd;

	*out = NULL;
	if (err)
		*err = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) <
	    0) {
		if (err)
			*err = cfg_asprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (err)
			*err = cfg_asprintf("%s: not a regular file", path);
		goto fail;
	}
	if (st.st_mode & 077) {
		if (err)
			*err = cfg_asprintf("%s: mode %04o is readable or "
			                    "writable by group or others; "
			                    "chmod 600 it",
			    path, (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	if (st.st_size > SECRET_MAX) {
		if (err)
			*err = cfg_asprintf(
			    "%s: larger than %d bytes", path, SECRET_MAX);
		goto fail;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto fail;
	while (off < (size_t)st.st_size) {
		r = read(fd, buf + off, (size_t)st.st_size - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (err)
				*err = cfg_asprintf("%s: short read", path);
			goto fail;
		}
		off += (size_t)r;
	}
	if (off > 0 && buf[off - 1] == '\n') {
		off--;
		if (off > 0 && buf[off - 1] == '\r')
			off--;
	}
	buf[off] = '\0';
	close(fd);
	*out = buf;
	if (lenp)
		*lenp = off;
	return 0;
fail:
	if (buf) {
		explicit_bzero(buf, (size_t)st.st_size + 1);
		free(buf);
	}
	close(fd);
	return -1;
}
