/* dirops.c - see dirops.h */
#include "dirops.h"

#include <errno.h>
#include <linux/fuse.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <unistd.h>

/* One session per process: the state of the INIT exchange. */
static uint64_t init_unique;		/* of the kernel's INIT request */
static int kernel_offers;		/* it carried FUSE_PARALLEL_DIROPS */
static bool (*wanted_fn)(void *);
static void *wanted_arg;

static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t res = read(fd, buf, len);
	const struct fuse_in_header *in = buf;

	(void)userdata;
	if (res >= (ssize_t)(sizeof(*in) + offsetof(struct fuse_init_in, flags) +
			     sizeof(uint32_t)) &&
	    in->opcode == FUSE_INIT) {
		const struct fuse_init_in *arg = (const void *)(in + 1);

		__atomic_store_n(&kernel_offers,
				 (arg->flags & FUSE_PARALLEL_DIROPS) != 0,
				 __ATOMIC_RELEASE);
		__atomic_store_n(&init_unique, in->unique, __ATOMIC_RELEASE);
	}
	return res;
}

static ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	const struct fuse_out_header *out = iov[0].iov_base;

	(void)userdata;
	if (count >= 2 && iov[0].iov_len >= sizeof(*out) && out->error == 0 &&
	    out->unique == __atomic_load_n(&init_unique, __ATOMIC_ACQUIRE) &&
	    iov[1].iov_len >= offsetof(struct fuse_init_out, flags) + sizeof(uint32_t) &&
	    __atomic_load_n(&kernel_offers, __ATOMIC_ACQUIRE) &&
	    wanted_fn && wanted_fn(wanted_arg)) {
		struct fuse_init_out *arg = iov[1].iov_base;

		arg->flags |= FUSE_PARALLEL_DIROPS;
		__atomic_store_n(&init_unique, UINT64_MAX, __ATOMIC_RELEASE);
	}
	return writev(fd, iov, count);
}

int pfs_dirops_install(struct fuse_session *se, bool (*wanted)(void *),
		       void *arg)
{
	static const struct fuse_custom_io io = {
		.read = io_read,
		.writev = io_writev,
	};

	wanted_fn = wanted;
	wanted_arg = arg;
	init_unique = UINT64_MAX;
	return fuse_session_custom_io(se, &io, fuse_session_fd(se));
}
